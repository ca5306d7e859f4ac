"""Schemas of hospital requests and their fulfilment."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hospital_id: int = Field(gt=0)
    part_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=1_000_000, description="Units needed")
    needed_by: dt.date | None = None
    urgency: int = Field(0, ge=0, le=3, description="0 routine, 1 soon, 2 urgent, 3 critical")
    delivery_address: str | None = Field(None, max_length=2000, description="Defaults to the hospital's address")
    contact: str | None = Field(None, max_length=200, description="Defaults to the hospital's contact")


class RequestRead(BaseModel):
    id: int
    hospital_id: int
    hospital_name: str
    part_id: int
    part_name: str
    quantity: int
    needed_by: dt.date | None
    urgency: int
    delivery_address: str | None
    contact: str | None
    is_closed: bool
    created_at: dt.datetime
    requested_units: int = Field(description="= quantity")
    batched_units: int = Field(description="Units asked of batches opened against the request (not cancelled)")
    in_production_units: int = Field(description="Units on plates printing for those batches")
    qc_passed_units: int = Field(description="Good units QC-recorded for those batches")
    planned_units: int = Field(description="Units in planned deliveries answering the request")
    shipped_units: int = Field(description="Units shipped and not yet confirmed received")
    delivered_units: int = Field(description="Units the hospital confirmed it received")
    outstanding_units: int = Field(description="requested - delivered, never below 0")

"""Schemas of batches."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    part_id: int = Field(gt=0)
    hospital_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=1_000_000, description="Units wanted (not plates)")
    priority: int = Field(0, ge=-100, le=100, description="Higher is more urgent")
    due_at: dt.datetime | None = None
    request_id: int | None = Field(None, gt=0)


class BatchRead(BaseModel):
    id: int
    part_id: int
    hospital_id: int
    request_id: int | None
    quantity: int
    priority: int
    due_at: dt.datetime | None
    is_cancelled: bool
    created_at: dt.datetime
    good_units: int
    rejected_units: int
    in_production_units: int
    remaining_units: int
    is_done: bool

"""Schemas of deliveries, their traceable sources and stock."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from printfarm.deliveries.rules import DeliveryState


class SourceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site_id: int = Field(gt=0)
    units: int = Field(gt=0, le=1_000_000)


class DeliveryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hospital_id: int = Field(gt=0)
    part_id: int = Field(gt=0)
    request_id: int | None = Field(None, gt=0, description="The hospital request this delivery answers")
    sources: list[SourceRequest] = Field(min_length=1, max_length=100, description="Units taken from each site")
    notes: str | None = Field(None, max_length=2000)


class DeliveryUpdate(BaseModel):
    """Changes to a planned delivery; a shipped, received or cancelled one is refused (409)."""

    model_config = ConfigDict(extra="forbid")
    sources: list[SourceRequest] | None = Field(None, min_length=1, max_length=100)
    notes: str | None = Field(None, max_length=2000)


class DeliveryReceive(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units_received: int = Field(ge=0, le=1_000_000, description="Units that arrived (at most the units shipped)")
    received_by: str | None = Field(None, min_length=1, max_length=200)
    note: str | None = Field(None, max_length=2000)


class TraceLine(BaseModel):
    """Units of a delivery taken from one QC-recorded plate."""

    output_id: int
    site_id: int
    site_name: str
    printer_id: int
    printer_name: str
    job_id: int
    batch_id: int
    day: dt.date
    recorded_at: dt.datetime
    material: str | None
    units: int


class SiteShare(BaseModel):
    site_id: int
    site_name: str
    units: int


class DeliveryRead(BaseModel):
    id: int
    hospital_id: int
    hospital_name: str
    part_id: int
    part_name: str
    design_version: str | None
    request_id: int | None
    state: DeliveryState
    units: int
    units_received: int | None
    notes: str | None
    received_by: str | None
    receipt_note: str | None
    created_at: dt.datetime
    shipped_at: dt.datetime | None
    received_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    materials: list[str]
    sites: list[SiteShare]
    sources: list[TraceLine]


class StockRow(BaseModel):
    """Units of one part at one site: QC-passed, reserved for planned deliveries, gone, on hand."""

    site_id: int
    site_name: str
    part_id: int
    part_name: str
    good_units: int = Field(description="QC-passed units ever recorded at the site")
    reserved_units: int = Field(description="Allocated to planned deliveries, still at the site")
    shipped_units: int = Field(description="Left the site in shipped or received deliveries")
    in_stock_units: int = Field(description="good - shipped: physically at the site")
    available_units: int = Field(description="good - shipped - reserved: free for a new delivery")

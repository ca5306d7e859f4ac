"""Schemas of QC results and statistics."""

from __future__ import annotations

from pydantic import BaseModel


class ClearBedResult(BaseModel):
    printer_id: int
    job_id: int | None
    good_units: int
    rejected_units: int


class SiteUnits(BaseModel):
    site_id: int
    site_name: str
    good_units: int
    rejected_units: int


class BatchUnits(BaseModel):
    batch_id: int
    good_units: int

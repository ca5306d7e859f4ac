"""Schemas of print jobs."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    batch_id: int
    printer_id: int
    print_file_id: int
    units_per_print: int
    state: str
    progress_percent: int
    remote_filename: str | None
    failure_reason: str | None
    good_units: int | None
    rejected_units: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    completed_at: dt.datetime | None

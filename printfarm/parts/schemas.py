"""Schemas of parts and print files."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class PartRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str | None
    design_version: str | None
    stl_filename: str | None
    stl_sha256: str | None
    stl_verdict: str | None
    is_approved: bool
    created_at: dt.datetime


class ValidationRead(BaseModel):
    part_id: int
    stl_filename: str | None
    report: dict[str, Any] | None


class PrintFileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    part_id: int
    profile_id: int
    filename: str
    sha256: str
    size_bytes: int
    units_per_print: int
    material: str | None
    analysis: dict[str, Any] | None
    created_at: dt.datetime

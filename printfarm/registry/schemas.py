"""Request and response schemas of the registry."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class SiteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    city: str | None = Field(None, max_length=120)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    auto_accept_qc: bool = False


class SiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    city: str | None
    latitude: float | None
    longitude: float | None
    is_paused: bool
    auto_accept_qc: bool
    created_at: dt.datetime


class HospitalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=160)
    city: str | None = Field(None, max_length=120)
    address: str | None = Field(None, max_length=2000)
    contact: str | None = Field(None, max_length=200)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class HospitalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    city: str | None
    address: str | None
    contact: str | None
    latitude: float | None
    longitude: float | None


class ProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    printer_model: str = Field(min_length=1, max_length=80)
    nozzle_mm: float = Field(gt=0, le=5)
    build_x_mm: float = Field(gt=0, le=2000)
    build_y_mm: float = Field(gt=0, le=2000)
    build_z_mm: float = Field(gt=0, le=2000)
    slicer_config: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9._-]+\.ini$")


class ProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    printer_model: str
    nozzle_mm: float
    build_x_mm: float
    build_y_mm: float
    build_z_mm: float
    slicer_config: str | None

"""Request and response schemas of the registry."""

from __future__ import annotations

import datetime as dt

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class SiteDispatchSettings(BaseModel):
    """How dispatch treats a workshop (dispatch/rules.py). None everywhere: no limits."""

    model_config = ConfigDict(extra="forbid")
    allowed_part_ids: list[int] | None = Field(
        None, max_length=1000, description="Parts this site may print; null: any approved part"
    )
    work_starts_at: dt.time | None = Field(None, description="Local time plates may start from, e.g. 07:00")
    work_ends_at: dt.time | None = Field(None, description="Local time plates stop starting; before the start: overnight")
    timezone: str = Field("UTC", min_length=1, max_length=64, description="IANA zone of the working hours")
    heatup_max_starts: int | None = Field(None, ge=1, le=10_000, description="At most this many starts ...")
    heatup_window_seconds: int | None = Field(None, ge=1, le=86_400, description="... within this many seconds")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Stockholm)") from err
        return value

    @field_validator("work_starts_at", "work_ends_at")
    @classmethod
    def _local_time(cls, value: dt.time | None) -> dt.time | None:
        return None if value is None else value.replace(tzinfo=None)

    @model_validator(mode="after")
    def _pairs(self) -> SiteDispatchSettings:
        if (self.work_starts_at is None) != (self.work_ends_at is None):
            raise ValueError("work_starts_at and work_ends_at go together (both or neither)")
        if (self.heatup_max_starts is None) != (self.heatup_window_seconds is None):
            raise ValueError("heatup_max_starts and heatup_window_seconds go together (both or neither)")
        return self


class SiteCreate(SiteDispatchSettings):
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
    allowed_part_ids: list[int] | None = None
    work_starts_at: dt.time | None = None
    work_ends_at: dt.time | None = None
    timezone: str = "UTC"
    heatup_max_starts: int | None = None
    heatup_window_seconds: int | None = None
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

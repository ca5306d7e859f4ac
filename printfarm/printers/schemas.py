"""Request and response schemas for printers and their profiles. The API key is write-only: no read schema has it."""

from __future__ import annotations

import datetime as dt

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class PrinterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site_id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=120)
    base_url: str | None = Field(
        None, min_length=8, max_length=500,
        description="The printer server's address (OctoPrint's), http(s)://host:port. Kind gateway: "
        "gateway://<site-slug>/<printer name>, or leave it out (it is derived)",
    )
    api_key: SecretStr | None = Field(
        None, min_length=1, max_length=200,
        description="Write-only: never returned. Kind gateway: leave it out (the key stays at the site, in its gateway)",
    )
    profile: str = Field(min_length=1, max_length=80, description="Printer profile name, e.g. prusa-mk3s-0.4")
    mqtt_base_topic: str | None = Field(
        None, max_length=200, description="Base topic of its OctoPrint-MQTT plugin; default printfarm/<site>/<printer>/"
    )
    loaded_material: str = Field("PLA", min_length=1, max_length=40)
    kind: str | None = Field(
        None, min_length=1, max_length=32, description="What drives it (printers.kinds); default octoprint"
    )

    @model_validator(mode="after")
    def _address_and_key(self) -> Self:
        if self.kind == "gateway":  # printers.kinds.GATEWAY
            if self.api_key is not None:
                raise ValueError("api_key: a gateway printer's API key stays at its site, in its gateway's "
                                 "configuration; leave api_key out")
            if self.base_url is not None and not self.base_url.startswith("gateway://"):
                raise ValueError(f"base_url: a gateway printer's address is gateway://<site-slug>/<printer name>, "
                                 f"or leave it out (got {self.base_url!r})")
            return self
        if self.base_url is None or self.api_key is None:
            missing = " and ".join(n for n in ("base_url", "api_key") if getattr(self, n) is None)
            raise ValueError(f"{missing}: required for a printer of kind {self.kind or 'octoprint'}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: must start with http:// or https:// (got {self.base_url!r})")
        self.base_url = self.base_url.rstrip("/")
        return self

    @field_validator("mqtt_base_topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(c in value for c in "#+\x00") or value.startswith("$"):
            raise ValueError(f"must not contain wildcards or start with $ (got {value!r})")
        return value if value.endswith("/") else value + "/"


class PrinterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    is_enabled: bool | None = Field(None, description="False puts the printer in maintenance: no new plates")
    disabled_reason: str | None = Field(None, max_length=500)
    loaded_material: str | None = Field(None, min_length=1, max_length=40)


class ClearBed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    good_units: int = Field(ge=0, le=10_000)
    rejected_units: int = Field(0, ge=0, le=10_000)


class ReportFault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=400, description="What is wrong, in the reporter's words")


class CurrentJob(BaseModel):
    id: int
    state: str
    progress_percent: int
    batch_id: int


class PrinterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    name: str
    kind: str
    base_url: str
    mqtt_base_topic: str
    profile_id: int
    loaded_material: str
    is_enabled: bool
    disabled_reason: str | None
    is_bed_clear: bool
    connection: str = Field(description="unknown, online, offline or fault (printers/rules.py)")
    connection_reason: str | None = Field(description="Why: the failed call, the last will, OctoPrint's own message")
    connection_changed_at: dt.datetime | None
    state_text: str | None
    tool_temp_c: float | None
    bed_temp_c: float | None
    last_seen_at: dt.datetime | None
    current_job: CurrentJob | None = None


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


class TimelineEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: dt.datetime
    kind: str = Field(description="online, offline, fault, fault_acknowledged, plate_started, plate_finished, "
                      "plate_failed, plate_cancelled, plate_lost, bed_cleared, registered, enabled")
    job_id: int | None
    detail: str | None


class TimelinePage(BaseModel):
    entries: list[TimelineEntryRead] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as ?before= for the older page; null on the last page")

"""Schemas of notification channels, sites' bed-wait delays and the notifications record."""

from __future__ import annotations

import datetime as dt
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from printfarm.notifications.rules import AUDIENCES, Audience, NotificationKind, NotificationState


class ChannelCreate(BaseModel):
    """A channel for one audience: a site's operators, a hospital, or the coordinators."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=3, max_length=2000, description="An Apprise URL (mailto://, json://, ntfy://, ...); "
                     "stored encrypted, never shown back")
    audience: Audience
    site_id: int | None = Field(None, gt=0, description="The site, for audience 'site'")
    hospital_id: int | None = Field(None, gt=0, description="The hospital, for audience 'hospital'")
    kinds: list[NotificationKind] | None = Field(None, min_length=1, description="Only these kinds (default: all "
                                                 "its audience hears)")
    label: str | None = Field(None, min_length=1, max_length=120)

    @model_validator(mode="after")
    def _target_matches_audience(self) -> Self:
        needs_site, needs_hospital = self.audience is Audience.SITE, self.audience is Audience.HOSPITAL
        if needs_site != (self.site_id is not None) or needs_hospital != (self.hospital_id is not None):
            raise ValueError(f"audience {self.audience.value}: give "
                             + ("site_id alone" if needs_site else "hospital_id alone" if needs_hospital
                                else "neither site_id nor hospital_id"))
        unheard = [k.value for k in self.kinds or () if self.audience not in AUDIENCES[k]]
        if unheard:
            raise ValueError(f"audience {self.audience.value} is not told of {', '.join(unheard)}")
        return self


class ChannelRead(BaseModel):
    """A channel as shown: never its URL, only its scheme and host."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    audience: Audience
    site_id: int | None
    hospital_id: int | None
    display: str
    label: str | None
    kinds: list[NotificationKind] | None
    created_by: str
    created_at: dt.datetime
    removed_at: dt.datetime | None


class SiteNotifySettings(BaseModel):
    """When a site's operators hear of a plate waiting on its bed."""

    model_config = ConfigDict(extra="forbid")
    bed_wait_delay_seconds: int = Field(ge=0, le=86_400, description="After the plate finished")
    bed_reminder_seconds: int = Field(ge=60, le=86_400, description="Between the first notice and each reminder")
    bed_reminders: int = Field(ge=0, le=10)


class SiteNotifySettingsRead(SiteNotifySettings):
    site_id: int


class NotificationRead(BaseModel):
    """One notification to one channel: what, when, and how sending went."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    channel_id: int
    kind: NotificationKind
    state: NotificationState
    title: str
    body: str
    printer_id: int | None
    job_id: int | None
    due_at: dt.datetime
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


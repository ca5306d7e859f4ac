"""Schemas of the cooperation board."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from printfarm.exchange.rules import PostCategory, PostKind


class PostCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PostKind
    category: PostCategory
    site_id: int | None = Field(None, gt=0, description="The member site posting; required for operators")
    title: str = Field(min_length=1, max_length=160)
    detail: str | None = Field(None, max_length=4000)
    quantity: int | None = Field(None, gt=0, le=1_000_000)
    unit: str | None = Field(None, min_length=1, max_length=40, description="kg, spools, printers, trips …")
    printer_ids: list[int] | None = Field(None, min_length=1, max_length=200,
                                          description="Capacity offers: the site's printers on offer")
    available_until: dt.date | None = None


class PostClose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)


class PostRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: PostKind
    category: PostCategory
    site_id: int | None
    title: str
    detail: str | None
    quantity: int | None
    unit: str | None
    printer_ids: list[int] | None
    available_until: dt.date | None
    posted_by: str
    is_closed: bool
    closed_note: str | None
    created_at: dt.datetime
    closed_at: dt.datetime | None

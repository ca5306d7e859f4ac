"""Schemas of API tokens. The clear token appears once, in TokenCreated."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from printfarm.auth.rules import Role


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    role: Role
    site_id: int | None = Field(None, gt=0, description="Required for operators, refused for other roles")
    expires_in_days: int | None = Field(None, gt=0, le=3650)
    hospital_id: int | None = Field(None, gt=0, description="Required for hospital tokens, refused for other roles")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    role: Role
    site_id: int | None
    hospital_id: int | None = None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="Shown once; printfarm stores only its hash")

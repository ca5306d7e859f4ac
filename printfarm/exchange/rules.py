"""Kinds and categories of posts on the cooperation board."""

from __future__ import annotations

import enum


class PostKind(enum.StrEnum):
    OFFER = "offer"
    NEED = "need"


class PostCategory(enum.StrEnum):
    CAPACITY = "capacity"  # free printers; an offer can be turned into printers' availability
    MATERIAL = "material"  # filament, sheets, elastic
    TRANSPORT = "transport"
    OTHER = "other"

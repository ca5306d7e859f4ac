"""Printer states and the eligibility rule for receiving a plate."""

from __future__ import annotations

import enum


class ConnectionState(enum.StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"


def suggested_base_topic(site_name: str, printer_name: str) -> str:
    def slug(text: str) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in text.lower()).strip("-") or "x"

    return f"printfarm/{slug(site_name)}/{slug(printer_name)}/"

"""Read models of the dashboard pages (also the JSON of /api/dashboard)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class Totals(BaseModel):
    requested_units: int  # units wanted by batches that are not cancelled
    in_production_units: int  # units on plates that are claimed, printing or waiting for QC
    printed_units: int  # good + rejected: every QC-recorded unit
    good_units: int  # QC-passed
    rejected_units: int
    shipped_units: int  # units in deliveries that left their sites (shipped or received)
    delivered_units: int  # units hospitals confirmed they received


class SiteCount(BaseModel):
    site_id: int
    site_name: str
    good_units: int
    rejected_units: int


class DayCount(BaseModel):
    day: dt.date
    good_units: int
    rejected_units: int


class BatchRow(BaseModel):
    id: int
    part_name: str
    hospital_name: str
    quantity: int
    priority: int
    due_at: dt.datetime | None
    is_cancelled: bool
    good_units: int
    rejected_units: int
    in_production_units: int

    @property
    def is_done(self) -> bool:
        return self.good_units >= self.quantity


class Overview(BaseModel):
    totals: Totals
    sites: list[SiteCount]  # the sites with most good units first, at most `site_limit`
    site_count: int  # all sites
    days: list[DayCount]  # one entry per day of the window, oldest first, zeros included
    batches: list[BatchRow]  # batches in production, most urgent first
    open_batch_count: int
    printers_by_status: dict[str, int]


class PrinterCard(BaseModel):
    id: int
    name: str
    site_id: int
    site_name: str
    profile: str
    loaded_material: str
    status: str
    state_text: str | None
    connection: str = "unknown"  # printers/rules.py: unknown, online, offline, fault
    connection_reason: str | None = None  # why: the failed call, the last will, OctoPrint's message
    connection_changed_at: dt.datetime | None = None
    is_enabled: bool
    disabled_reason: str | None
    is_bed_clear: bool
    tool_temp_c: float | None
    bed_temp_c: float | None
    job_id: int | None
    job_state: str | None
    batch_id: int | None
    progress_percent: int | None
    units_per_print: int | None
    time_left_seconds: int | None
    time_left: str
    can_operate: bool  # the caller may clear this printer's bed
    waiting_since: dt.datetime | None = None  # in fault, offline or with a plate to clear: since when
    waiting_for: str = ""  # how long that is, as text ("12 min")
    part_name: str | None = None  # of the plate's batch: filled for a printer's own page and the wall
    hospital_name: str | None = None


class PrinterWall(BaseModel):
    printers: list[PrinterCard]
    total: int  # printers matching the filter
    page: int
    pages: int
    per_page: int
    site_id: int | None
    needs_attention: bool
    next_after: int | None = None  # the last printer of this page: the next page starts after it
    previous_before: int | None = None  # the first printer of this page: the previous page ends before it
    by_status: dict[str, int]  # over the filter's site (all sites without one)
    good_units: int  # QC-passed units of the filter's site (all sites without one)
    sites: list[tuple[int, str]]  # for the site picker


class SiteWall(BaseModel):
    """A workshop's screen: one site's printers, what waits for a person first (metrics.rules.wall_order)."""

    site_id: int
    site_name: str
    printers: list[PrinterCard]
    total: int  # the site's printers; more than len(printers) when the wall shows only the first ones
    by_status: dict[str, int]


class SiteRow(BaseModel):
    id: int
    name: str
    city: str | None
    is_paused: bool
    printers: int
    printers_online: int
    printers_busy: int
    beds_not_clear: int
    good_units: int
    rejected_units: int


class BatchPage(BaseModel):
    batches: list[BatchRow]
    total: int
    page: int
    pages: int
    per_page: int
    open_only: bool


class HospitalRow(BaseModel):
    id: int
    name: str
    city: str | None
    requested_units: int  # open hospital requests
    batched_units: int  # units in batches for it that are not cancelled
    good_units: int  # QC-passed units of those batches
    shipped_units: int
    delivered_units: int

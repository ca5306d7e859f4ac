"""Dashboard use-cases: the overview, the printer wall, sites, batches, hospitals, and /metrics samples."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy.orm import Session

from printfarm.auth.rules import Action, Actor, may, own_hospital, require, require_site_view
from printfarm.clock import Clock
from printfarm.db.lookup import get_existing
from printfarm.db.tables import Printer, Site
from printfarm.jobs.rules import JobState
from printfarm.metrics.repository import batches, figures, sites, wall
from printfarm.metrics.rules import (
    PrinterStatus, busy_printer_status, clamp_page, duration_text, page_count, printer_status, time_left_seconds,
    wall_order,
)
from printfarm.metrics.schemas import (
    BatchPage,
    BatchRow,
    DayCount,
    HospitalRow,
    Overview,
    PrinterCard,
    PrinterWall,
    SiteCount,
    SiteRow,
    SiteWall,
    Totals,
)

OVERVIEW_SITES = 25  # bars in the overview chart; the sites page lists every site
OVERVIEW_DAYS = 30
OVERVIEW_BATCHES = 20
PRINTERS_PER_PAGE = 48
WALL_PRINTERS = 120  # a workshop's screen shows at most this many (what waits for a person first)
BATCHES_PER_PAGE = 50


def _batch_row(line: batches.BatchLine) -> BatchRow:
    b = line.batch
    return BatchRow(
        id=b.id, part_name=line.part_name, hospital_name=line.hospital_name, quantity=b.quantity,
        priority=b.priority, due_at=b.due_at, is_cancelled=b.is_cancelled, good_units=line.good_units,
        rejected_units=line.rejected_units, in_production_units=line.in_production_units,
    )


def _status_counts(session: Session, site_id: int | None) -> dict[str, int]:
    counts: Counter[str] = Counter({status.value: 0 for status in PrinterStatus})
    printers = wall.printer_state_counts(session, site_id)
    for connection, enabled, bed_clear, n in printers.idle:
        counts[printer_status(connection, enabled, bed_clear, None).value] += n
    for connection, job_state, n in printers.busy:
        counts[busy_printer_status(connection, job_state).value] += n
    return dict(counts)


def _totals(t: figures.Totals) -> Totals:
    return Totals(
        requested_units=t.requested, in_production_units=t.in_production, printed_units=t.good + t.rejected,
        good_units=t.good, rejected_units=t.rejected, shipped_units=t.shipped, delivered_units=t.received,
    )


def _card(line: wall.PrinterLine, now: dt.datetime, actor: Actor) -> PrinterCard:
    p, job = line.printer, line.job
    left = time_left_seconds(job.progress_percent, job.started_at, now, line.estimated_seconds) if job else None
    if job is not None and job.state is JobState.FINISHED:
        left = 0
    status = printer_status(p.connection.value, p.is_enabled, p.is_bed_clear, job.state if job else None)
    if status in (PrinterStatus.FAULT, PrinterStatus.OFFLINE):
        waiting_since = p.connection_changed_at
    elif status is PrinterStatus.BED_NOT_CLEAR and job is not None:
        waiting_since = job.finished_at
    else:
        waiting_since = None
    return PrinterCard(
        id=p.id, name=p.name, site_id=p.site_id, site_name=line.site_name, profile=line.profile_name,
        loaded_material=p.loaded_material, status=status.value,
        state_text=p.state_text, connection=p.connection.value, connection_reason=p.connection_reason,
        connection_changed_at=p.connection_changed_at, is_enabled=p.is_enabled, disabled_reason=p.disabled_reason,
        is_bed_clear=p.is_bed_clear, tool_temp_c=p.tool_temp_c, bed_temp_c=p.bed_temp_c,
        job_id=job.id if job else None, job_state=job.state.value if job else None,
        batch_id=job.batch_id if job else None, progress_percent=job.progress_percent if job else None,
        units_per_print=job.units_per_print if job else None,
        time_left_seconds=left, time_left=duration_text(left) if job and left else "",
        can_operate=may(actor, Action.OPERATE_PRINTER, p.site_id), waiting_since=waiting_since,
        waiting_for=duration_text(max(0, int((now - waiting_since).total_seconds()))) if waiting_since else "",
    )


def _with_destinations(session: Session, cards: list[PrinterCard]) -> list[PrinterCard]:
    """The cards with their plates' part and hospital filled in (one query for all)."""
    found = wall.batch_destinations(session, {c.batch_id for c in cards if c.batch_id is not None})
    for card in cards:
        if card.batch_id in found:
            card.part_name, card.hospital_name = found[card.batch_id]
    return cards


class DashboardService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def overview(self, session: Session, actor: Actor, days: int = OVERVIEW_DAYS) -> Overview:
        """Totals, the top sites by good units, good units per day (UTC) of the last `days`, open batches."""
        require(actor, Action.READ)
        today = self._clock.now().astimezone(dt.UTC).date()
        first = today - dt.timedelta(days=days - 1)
        per_day = figures.units_by_day(session, first)
        day_counts = []
        for offset in range(days):
            day = first + dt.timedelta(days=offset)
            good, rejected = per_day.get(day, (0, 0))
            day_counts.append(DayCount(day=day, good_units=good, rejected_units=rejected))
        totals = figures.totals(session)
        return Overview(
            totals=_totals(totals),
            sites=[
                SiteCount(site_id=i, site_name=n, good_units=g, rejected_units=r)
                for i, n, g, r in figures.units_by_site(session, OVERVIEW_SITES)
            ],
            site_count=totals.sites,
            days=day_counts,
            batches=[_batch_row(line) for line in batches.batch_lines(session, True, 0, OVERVIEW_BATCHES)],
            open_batch_count=batches.count_batches(session, True),
            printers_by_status=_status_counts(session, None),
        )

    def printer_wall(
        self, session: Session, actor: Actor, *, site_id: int | None = None, needs_attention: bool = False, page: int = 1,
        per_page: int = PRINTERS_PER_PAGE, after: int | None = None, before: int | None = None,
    ) -> PrinterWall:
        """One page of printer cards (by site, then name); `can_operate` says where the caller may clear beds.

        With `after` (the last printer id of the previous page, as the pager's next link carries it)
        the page starts right after that printer, whatever its number; with `before` (the first
        printer of the next page, as the previous link carries it) it ends right before that one;
        `page` only labels it then. Past the end, or next to a printer that no longer exists,
        `page` alone picks the page.
        """
        require(actor, Action.READ)
        total, good_units = wall.wall_counts(session, site_id, needs_attention)
        page = clamp_page(page, total, per_page)
        pages = page_count(total, per_page)
        offset = (page - 1) * per_page
        lines = []
        if after or before:
            lines = wall.printer_lines(session, site_id, needs_attention, offset, per_page, after=after, before=before)
            if before and 0 < len(lines) < per_page:  # less than a page before that printer: the first page, whole
                page, offset, lines = 1, 0, []
        if not lines:
            lines = wall.printer_lines(session, site_id, needs_attention, offset, per_page)
        now = self._clock.now()
        cards = [_card(line, now, actor) for line in lines]
        return PrinterWall(
            printers=cards, total=total, page=page, pages=pages, per_page=per_page,
            next_after=lines[-1].printer.id if lines and page < pages else None,
            previous_before=lines[0].printer.id if lines and page > 1 else None,
            site_id=site_id, needs_attention=needs_attention, by_status=_status_counts(session, site_id),
            good_units=good_units,
            sites=wall.site_choices(session),
        )

    def printer_card(self, session: Session, actor: Actor, printer_id: int) -> PrinterCard:
        """One printer's card with its plate's part and hospital, for its own page at the printer.

        Raises NotFound, Forbidden for an operator of another site (any other reader may look).
        """
        printer = get_existing(session, Printer, printer_id, "printer")
        require_site_view(actor, printer.site_id, f"printer {printer_id}'s page")
        lines = wall.printer_lines(session, None, False, 0, 1, printer_id=printer_id)
        return _with_destinations(session, [_card(line, self._clock.now(), actor) for line in lines])[0]

    def site_wall(self, session: Session, actor: Actor, site_id: int) -> SiteWall:
        """A site's printers for its workshop's screen, what waits for a person first (metrics.rules.wall_order).

        At most WALL_PRINTERS are read (by name); `total` says how many the site has. Raises NotFound,
        Forbidden for an operator of another site.
        """
        site = get_existing(session, Site, site_id, "site")
        require_site_view(actor, site_id, f"site {site_id}'s wall")
        total, _ = wall.wall_counts(session, site_id, False)
        now = self._clock.now()
        cards = [_card(line, now, actor) for line in wall.printer_lines(session, site_id, False, 0, WALL_PRINTERS)]
        return SiteWall(
            site_id=site_id, site_name=site.name, printers=wall_order(_with_destinations(session, cards)), total=total,
            by_status=_status_counts(session, site_id),
        )

    def sites(self, session: Session, actor: Actor) -> list[SiteRow]:
        require(actor, Action.READ)
        return [
            SiteRow(
                id=s.id, name=s.name, city=s.city, is_paused=s.is_paused, printers=s.printers, printers_online=s.online,
                printers_busy=s.busy, beds_not_clear=s.beds_not_clear, good_units=s.good_units,
                rejected_units=s.rejected_units,
            )
            for s in sites.site_rows(session)
        ]

    def batches(self, session: Session, actor: Actor, *, open_only: bool = True, page: int = 1, per_page: int = BATCHES_PER_PAGE) -> BatchPage:
        require(actor, Action.READ)
        total = batches.count_batches(session, open_only)
        page = clamp_page(page, total, per_page)
        lines = batches.batch_lines(session, open_only, (page - 1) * per_page, per_page)
        return BatchPage(
            batches=[_batch_row(line) for line in lines], total=total, page=page,
            pages=page_count(total, per_page), per_page=per_page, open_only=open_only,
        )

    def hospitals(self, session: Session, actor: Actor) -> list[HospitalRow]:
        require(actor, Action.READ)
        return [
            HospitalRow(
                id=h.id, name=h.name, city=h.city, requested_units=q, batched_units=b, good_units=g,
                shipped_units=s, delivered_units=r,
            )
            # A hospital's token sees its own hospital's figures only, as the API limits it.
            for h, q, b, g, s, r in sites.hospital_rows(session, own_hospital(actor, None))
        ]

    # -- /metrics ------------------------------------------------------------------------------

    def printers_by_status(self, session: Session, actor: Actor) -> dict[str, int]:
        require(actor, Action.READ)
        return _status_counts(session, None)

    def jobs_by_state(self, session: Session, actor: Actor) -> dict[str, int]:
        require(actor, Action.READ)
        return figures.jobs_by_state(session)

    def units_by_site(self, session: Session, actor: Actor) -> list[SiteCount]:
        require(actor, Action.READ)
        return [
            SiteCount(site_id=i, site_name=n, good_units=g, rejected_units=r)
            for i, n, g, r in figures.units_by_site(session)
        ]

"""Queries about printers and printer profiles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from printfarm.db.tables import Printer, PrinterProfile, PrintJob
from printfarm.jobs.rules import ACTIVE
from printfarm.printers.rules import ConnectionState


def active_jobs_by_printer(session: Session, printer_ids: list[int] | None = None) -> dict[int, PrintJob]:
    query = select(PrintJob).where(PrintJob.state.in_(ACTIVE))
    if printer_ids is not None:
        query = query.where(PrintJob.printer_id.in_(printer_ids))
    return {job.printer_id: job for job in session.scalars(query)}


def list_printers(session: Session, site_id: int | None = None) -> list[Printer]:
    query = select(Printer).order_by(Printer.id)
    if site_id is not None:
        query = query.where(Printer.site_id == site_id)
    return list(session.scalars(query))


def base_topics(session: Session) -> dict[str, int]:
    return {topic: pid for pid, topic in session.execute(select(Printer.id, Printer.mqtt_base_topic))}


def profile_named(session: Session, name: str) -> PrinterProfile | None:
    return session.scalar(select(PrinterProfile).where(PrinterProfile.name == name))


def profile_names(session: Session) -> set[str]:
    return set(session.scalars(select(PrinterProfile.name)))


def list_profiles(session: Session) -> list[PrinterProfile]:
    return list(session.scalars(select(PrinterProfile).order_by(PrinterProfile.id)))


def locked_printers(session: Session, printer_ids: set[int]) -> dict[int, Printer]:
    """These printers, their rows locked in id order (the order every writer locks them in)."""
    return {
        p.id: p
        for p in session.scalars(select(Printer).where(Printer.id.in_(printer_ids)).order_by(Printer.id).with_for_update())
    }


def printers_to_check(session: Session, now: dt.datetime, limit: int) -> list[Printer]:
    """Printers not known online (nor held in fault) whose retry time has come, oldest first, a small batch at a time."""
    return list(
        session.scalars(
            select(Printer)
            .where(
                Printer.is_enabled.is_(True),
                Printer.connection.not_in([ConnectionState.ONLINE, ConnectionState.FAULT]),
                or_(Printer.retry_after.is_(None), Printer.retry_after <= now),
            )
            .order_by(Printer.retry_after.is_(None).desc(), Printer.retry_after, Printer.id)
            .limit(limit)
        )
    )


def printers_not_online(session: Session) -> list[Printer]:
    """Printers offline, in fault or not heard from yet (few, found by ix_printers_state), by id."""
    return list(
        session.scalars(select(Printer).where(Printer.connection != ConnectionState.ONLINE).order_by(Printer.id))
    )


def gateway_printer_ids(session: Session, base_url_prefix: str) -> set[int]:
    """Ids of the printers of kind gateway whose base URL starts with base_url_prefix (one site's)."""
    return set(
        session.scalars(
            select(Printer.id).where(Printer.kind == "gateway", Printer.base_url.startswith(base_url_prefix, autoescape=True))
        )
    )

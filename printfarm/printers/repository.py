"""Queries about printers and printer profiles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from printfarm.db.tables import Printer, PrinterProfile, PrintJob
from printfarm.jobs.rules import ACTIVE


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

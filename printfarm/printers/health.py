"""Printer connection and health, written in one place: online, offline, unreachable with backoff.

Every writer of a printer's connection, offline_checks, retry_after and last_seen_at calls these
functions (dispatch after a start, tracking on an MQTT connection message or a REST answer, the
health task below); the columns' meaning is in printers/rules.py. The functions change one loaded,
locked Printer in the caller's unit of work, and raise PrinterOnline / PrinterOffline there when
the connection changes (published once it commits). The one bulk writer, dispatch's
printers_answered, writes the same online_columns() for printers that were online already.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from printfarm.clock import Clock
from printfarm.db.session import Database
from printfarm.db.tables import Printer
from printfarm.errors import PrinterError
from printfarm.events import PrinterOffline, PrinterOnline, raise_event
from printfarm.printers.port import PrinterClient
from printfarm.printers.repository import locked_printers, printers_to_check
from printfarm.printers.rules import ConnectionState, online_columns, retry_delay
from printfarm.printers.service import PrinterService

log = logging.getLogger(__name__)


def mark_online(session: Session, printer: Printer, now: dt.datetime, via: str) -> bool:
    """The printer answered (via says how: "mqtt", "health check"): online, seen now, backoff cleared.

    True when it was not online (then PrinterOnline is raised).
    """
    changed = printer.connection is not ConnectionState.ONLINE
    if changed:
        log.info("printer %s is online (%s)", printer.id, via)
        raise_event(session, PrinterOnline(now, printer.id, via))
    for column, value in online_columns(now).items():
        setattr(printer, column, value)
    return changed


def mark_offline(session: Session, printer: Printer, now: dt.datetime, reason: str) -> bool:
    """The printer said it is gone (an MQTT last will): offline, asked again at the next health check.

    No failed check is counted: nobody asked it yet. True when it was not offline (then
    PrinterOffline is raised).
    """
    changed = printer.connection is not ConnectionState.OFFLINE
    if changed:
        log.info("printer %s is offline (%s)", printer.id, reason)
        raise_event(session, PrinterOffline(now, printer.id, reason))
    printer.connection = ConnectionState.OFFLINE
    return changed


def mark_unreachable(session: Session, printer: Printer, now: dt.datetime, reason: str) -> bool:
    """Asking the printer failed: offline, one more failed check, not asked again before its backoff.

    True when it was not offline (then PrinterOffline is raised).
    """
    changed = mark_offline(session, printer, now, reason)
    if not changed:
        log.debug("printer %s still unreachable: %s", printer.id, reason)
    printer.offline_checks += 1
    printer.retry_after = now + retry_delay(printer.offline_checks)
    return changed


def hold_off(printer: Printer, now: dt.datetime, failed_attempts: int) -> None:
    """The printer answered but refused (a start, say) failed_attempts times in a row: wait before the next try."""
    printer.retry_after = now + retry_delay(failed_attempts)


def mark_seen(printer: Printer, now: dt.datetime) -> None:
    """The printer answered a question that says nothing of its connection (a REST status poll)."""
    printer.last_seen_at = now


class PrinterHealth:
    """The periodic health task: asks printers not known online whether they are back, with backoff."""

    def __init__(self, db: Database, clock: Clock, printers: PrinterService, workers: int = 8) -> None:
        self._db = db
        self._clock = clock
        self._printers = printers
        self._workers = workers

    def check_printers(self, batch_size: int = 20) -> int:
        """Ask printers not known online whether they are back; a few per tick, with backoff.

        At most batch_size printers are asked per call, `workers` at a time, so a site coming back
        (or a whole fleet starting) never turns into a reconnect storm. Returns how many came online.
        """
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            targets = [(p.id, self._printers.client_for(p)) for p in printers_to_check(session, now, batch_size)]
        if not targets:
            return 0
        with ThreadPoolExecutor(max_workers=min(self._workers, len(targets))) as pool:
            answers = list(pool.map(_ask, targets))
        came_online = 0
        with self._db.unit_of_work() as session:
            now = self._clock.now()
            printers = locked_printers(session, {pid for pid, _ in answers})
            for printer_id, problem in answers:
                printer = printers.get(printer_id)
                if printer is None:
                    continue
                if problem is None:
                    mark_online(session, printer, now, "health check")
                    came_online += 1
                else:
                    mark_unreachable(session, printer, now, problem)
        return came_online


def _ask(target: tuple[int, PrinterClient]) -> tuple[int, str | None]:
    """(printer id, None) when it answered, else (printer id, why not)."""
    printer_id, client = target
    try:
        client.check()
    except PrinterError as err:
        return printer_id, str(err)
    return printer_id, None

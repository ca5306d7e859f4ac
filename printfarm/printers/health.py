"""Printer connection and health, written in one place: online, offline, unreachable with backoff, fault.

Every writer of a printer's connection, connection_reason, offline_checks, retry_after and
last_seen_at calls these functions (dispatch after a start, tracking on an MQTT message or a REST
answer, the health task below, an operator acknowledging a fault); the columns' meaning is in
printers/rules.py. The functions change one loaded, locked Printer in the caller's unit of work,
and raise PrinterOnline / PrinterOffline / PrinterFault / FaultAcknowledged there when the
connection changes (published once it commits). The one bulk writer, dispatch's
printers_answered, writes the same online_columns() for printers that were online already.

A printer in fault stays in fault whatever it reports (online, offline, a failed call): only
``acknowledge_fault`` ends it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from printfarm.clock import Clock
from printfarm.db.session import Database
from printfarm.db.tables import Printer
from printfarm.errors import Conflict, PrinterError
from printfarm.events import FaultAcknowledged, PrinterFault, PrinterOffline, PrinterOnline, raise_event
from printfarm.printers.port import PrinterClient
from printfarm.printers.repository import locked_printers, printers_to_check
from printfarm.printers.rules import ConnectionState, online_columns, retry_delay

log = logging.getLogger(__name__)


_REASON_CHARS = 500


def _set_connection(printer: Printer, state: ConnectionState, now: dt.datetime, reason: str) -> None:
    printer.connection = state
    printer.connection_reason = reason[:_REASON_CHARS]
    printer.connection_changed_at = now


def mark_online(session: Session, printer: Printer, now: dt.datetime, via: str) -> bool:
    """The printer answered (via says how: "mqtt", "health check"): online, seen now, backoff cleared.

    True when it was not online (then PrinterOnline is raised). A printer in fault stays in fault
    (it is only seen now).
    """
    if printer.connection is ConnectionState.FAULT:
        printer.last_seen_at = now
        return False
    changed = printer.connection is not ConnectionState.ONLINE
    if changed:
        log.info("printer %s is online (%s)", printer.id, via)
        raise_event(session, PrinterOnline(now, printer.id, via))
        _set_connection(printer, ConnectionState.ONLINE, now, via)
    for column, value in online_columns(now).items():
        setattr(printer, column, value)
    return changed


def mark_offline(session: Session, printer: Printer, now: dt.datetime, reason: str) -> bool:
    """The printer said it is gone (an MQTT last will, OctoPrint lost its board): offline, asked again
    at the next health check.

    No failed check is counted: nobody asked it yet. True when it was not offline (then
    PrinterOffline is raised); the reason is kept either way, the latest one shown. A printer in
    fault stays in fault.
    """
    if printer.connection is ConnectionState.FAULT:
        return False
    changed = printer.connection is not ConnectionState.OFFLINE
    if changed:
        log.info("printer %s is offline (%s)", printer.id, reason)
        raise_event(session, PrinterOffline(now, printer.id, reason))
        _set_connection(printer, ConnectionState.OFFLINE, now, reason)
    else:
        printer.connection_reason = reason[:_REASON_CHARS]
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


def mark_fault(session: Session, printer: Printer, now: dt.datetime, reason: str) -> bool:
    """The printer stopped itself (a firmware emergency, a print failed with an error): in fault.

    reason is the printer's own message. Dispatch starts nothing there, and nothing printfarm hears
    ends the fault: only acknowledge_fault does. True when it was not in fault (then PrinterFault
    is raised); a second fault while in fault keeps the first message.
    """
    if printer.connection is ConnectionState.FAULT:
        log.debug("printer %s already in fault; also: %s", printer.id, reason)
        return False
    log.warning("printer %s is in fault, held for its operator: %s", printer.id, reason)
    _set_connection(printer, ConnectionState.FAULT, now, reason)
    raise_event(session, PrinterFault(now, printer.id, reason[:_REASON_CHARS]))
    return True


def acknowledge_fault(session: Session, printer: Printer, now: dt.datetime, by: str) -> str:
    """A person looked at the printer in fault: offline, asked at the next health check; the fault's message.

    Raises Conflict when the printer is not in fault. FaultAcknowledged is raised (the runtime asks
    the printer at once, and dispatch may use it once it answers).
    """
    if printer.connection is not ConnectionState.FAULT:
        raise Conflict(f"printer {printer.id} is not in fault (it is {printer.connection.value}); nothing to acknowledge")
    fault = printer.connection_reason or ""
    log.info("printer %s: fault acknowledged by %s (%s)", printer.id, by, fault)
    _set_connection(printer, ConnectionState.OFFLINE, now, f"fault acknowledged by {by}; waiting for its next answer")
    printer.offline_checks = 0
    printer.retry_after = None
    raise_event(session, FaultAcknowledged(now, printer.id, fault, by))
    return fault


def hold_off(printer: Printer, now: dt.datetime, failed_attempts: int) -> None:
    """The printer answered but refused (a start, say) failed_attempts times in a row: wait before the next try."""
    printer.retry_after = now + retry_delay(failed_attempts)


def mark_seen(printer: Printer, now: dt.datetime) -> None:
    """The printer answered a question that says nothing of its connection (a REST status poll)."""
    printer.last_seen_at = now


class PrinterHealth:
    """The periodic health task: asks printers not known online whether they are back, with backoff."""

    def __init__(
        self, db: Database, clock: Clock, client_for: Callable[[Printer], PrinterClient], workers: int = 8
    ) -> None:
        """client_for: a client for a stored printer (PrinterService.client_for)."""
        self._db = db
        self._clock = clock
        self._client_for = client_for
        self._workers = workers

    def check_printers(self, batch_size: int = 20) -> int:
        """Ask printers not known online whether they are back; a few per tick, with backoff.

        At most batch_size printers are asked per call, `workers` at a time, so a site coming back
        (or a whole fleet starting) never turns into a reconnect storm. Returns how many came online.
        """
        now = self._clock.now()
        with self._db.unit_of_work() as session:
            targets = [(p.id, self._client_for(p)) for p in printers_to_check(session, now, batch_size)]
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

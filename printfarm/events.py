"""Domain events: what happened in the farm, published once the unit of work that made it commits.

A service raises an event with ``raise_event(session, event)`` while it works; ``Database.unit_of_work``
hands the session's events to the process's ``EventBus`` after a successful commit (never after a
rollback). Any number of subscribers may listen to an event type; each is called in turn on the
committing thread, and one that raises is logged while the others still run (Moonraker's way).
Subscribers must be quick (wake a task, queue work): a unit of work's thread waits for them.

Events raised in the MQTT ingest worker process travel to the parent in its acks and are published
there (``printfarm.ingest_worker``). Every replica publishes only the events of its own commits, so
work that must happen once across replicas (a notification, say) is claimed in the database by its
subscriber, never decided in one process's memory.

The events, by the object they are about:

    a plate (PrintJob)   PlateStarted · PlateFinished (waits on the bed) · PlateFailed (failed or
                         cancelled) · PlateLost · BedCleared (with its QC, or none)
    a printer            PrinterRegistered · PrinterEnabled · PrinterOnline · PrinterOffline ·
                         PrinterFault · FaultAcknowledged
    a batch              BatchQueued · BatchDone (its good units reached its quantity)
    a delivery           DeliveryShipped · DeliveryReceived
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every domain event; ``at`` is when it happened (UTC, the injected clock)."""

    at: dt.datetime


# -- plates --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlateStarted(Event):
    job_id: int
    printer_id: int
    batch_id: int


@dataclass(frozen=True, slots=True)
class PlateFinished(Event):
    """The printer reported the plate done; it waits on the bed for its operator (or auto-accept)."""

    job_id: int
    printer_id: int
    batch_id: int


@dataclass(frozen=True, slots=True)
class PlateFailed(Event):
    """The plate ended without units: ``state`` is "failed" or "cancelled"; its units are queued again."""

    job_id: int
    printer_id: int
    batch_id: int
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class PlateLost(Event):
    """Nobody could tell what became of the plate (its printer vanished); its units are queued again."""

    job_id: int
    printer_id: int
    batch_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class BedCleared(Event):
    """The bed is free for the next plate; ``job_id`` is the plate whose QC was recorded, if any."""

    printer_id: int
    job_id: int | None
    good_units: int
    rejected_units: int
    is_automatic: bool  # the site accepts QC automatically: no person took the plate off


# -- printers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrinterRegistered(Event):
    printer_id: int
    site_id: int
    base_topic: str


@dataclass(frozen=True, slots=True)
class PrinterEnabled(Event):
    """A person (or an exchange post) made a disabled printer available for plates again."""

    printer_id: int


@dataclass(frozen=True, slots=True)
class PrinterOnline(Event):
    printer_id: int
    via: str  # what showed it: "mqtt", "health check", "start"


@dataclass(frozen=True, slots=True)
class PrinterOffline(Event):
    printer_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class PrinterFault(Event):
    """The printer stopped itself (a firmware emergency, a print failed with an error): held until acknowledged."""

    printer_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class FaultAcknowledged(Event):
    """An operator looked at a printer in fault; ``reason`` was the fault's message, ``by`` who."""

    printer_id: int
    reason: str
    by: str = ""


# -- batches and deliveries ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchQueued(Event):
    batch_id: int


@dataclass(frozen=True, slots=True)
class BatchDone(Event):
    batch_id: int
    good_units: int


@dataclass(frozen=True, slots=True)
class DeliveryShipped(Event):
    delivery_id: int
    hospital_id: int


@dataclass(frozen=True, slots=True)
class DeliveryReceived(Event):
    delivery_id: int
    hospital_id: int


#: Events after which a printer may be free for a plate, or a plate may have work: dispatch runs.
DISPATCH_WAKERS: tuple[type[Event], ...] = (
    BedCleared, PrinterRegistered, PrinterEnabled, PrinterOnline, BatchQueued, PlateFailed, PlateLost,
)

E = TypeVar("E", bound=Event)
Subscriber = Callable[[Any], None]


class EventBus:
    """Calls every subscriber of an event's type (and of its base classes), each on its own.

    Thread-safe: subscribing and publishing may happen on any thread.
    """

    def __init__(self) -> None:
        self._subscribers: dict[type[Event], list[Subscriber]] = {}
        self._lock = threading.Lock()
        self.failures = 0  # subscriber calls that raised, for /metrics and tests

    def subscribe(self, event_types: type[E] | tuple[type[E], ...], subscriber: Callable[[E], None]) -> None:
        """Call subscriber with every published event of these types (subclasses included)."""
        types = event_types if isinstance(event_types, tuple) else (event_types,)
        with self._lock:
            for event_type in types:
                self._subscribers.setdefault(event_type, []).append(subscriber)

    def publish(self, events: Iterable[Event]) -> None:
        """Hand each event to its subscribers in order; a raising subscriber is logged, never re-raised."""
        for event in events:
            with self._lock:
                subscribers = [
                    s for event_type in type(event).__mro__ if event_type in self._subscribers
                    for s in self._subscribers[event_type]
                ]
            for subscriber in subscribers:
                try:
                    subscriber(event)
                except Exception:
                    self.failures += 1
                    log.exception("subscriber %s of %s failed; the other subscribers still run",
                                  getattr(subscriber, "__qualname__", subscriber), type(event).__name__)


EVENTS_KEY = "printfarm_events"


def raise_event(session: Any, event: Event) -> None:
    """Publish event once the session's unit of work commits (nothing happens if it rolls back).

    ``session`` is a SQLAlchemy Session; typed loosely so this module needs no database import.
    """
    session.info.setdefault(EVENTS_KEY, []).append(event)


def raised_events(session: Any) -> list[Event]:
    """The events raised in this session so far, in order."""
    events: list[Event] = session.info.get(EVENTS_KEY, [])
    return events

"""Which event means which notification, to whom, when: kinds, audiences, delays and retries as data.

Pure: no database, no framework. The service gathers the facts (names, the site's delays) and
hands them here; what comes back is a list of Notices, one per notification to send.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from printfarm.auth.rules import Actor, Role
from printfarm.errors import Forbidden
from printfarm.events import (
    BatchDone,
    DeliveryReceived,
    DeliveryShipped,
    Event,
    PlateFinished,
    PrinterFault,
    PrinterOffline,
)


class NotificationKind(enum.StrEnum):
    BED_WAITING = "bed_waiting"  # a finished plate waits for its operator
    BED_REMINDER = "bed_reminder"  # ... still, later
    PRINTER_FAULT = "printer_fault"  # stopped or disabled: waits for a person
    PRINTER_OFFLINE = "printer_offline"  # unreachable
    BATCH_DONE = "batch_done"
    DELIVERY_SHIPPED = "delivery_shipped"
    DELIVERY_RECEIVED = "delivery_received"
    REQUEST_AT_RISK = "request_at_risk"  # due soon, and what is printing will not cover what is missing


class Audience(enum.StrEnum):
    SITE = "site"  # one site's operators
    HOSPITAL = "hospital"  # one hospital's liaison
    COORDINATORS = "coordinators"  # the drive's coordinators, every site and hospital


class NotificationState(enum.StrEnum):
    PENDING = "pending"  # waits for its due time (or its next retry)
    SENDING = "sending"  # claimed by one sender until claimed_until
    SENT = "sent"
    FAILED = "failed"  # every attempt failed; last_error says why
    CANCELLED = "cancelled"  # no longer true (the bed was cleared) or its channel was removed


OPEN = frozenset({NotificationState.PENDING, NotificationState.SENDING})
TERMINAL = frozenset({NotificationState.SENT, NotificationState.FAILED, NotificationState.CANCELLED})

#: Who hears of each kind; a channel may narrow this to some kinds, never widen it.
AUDIENCES: dict[NotificationKind, frozenset[Audience]] = {
    NotificationKind.BED_WAITING: frozenset({Audience.SITE}),
    NotificationKind.BED_REMINDER: frozenset({Audience.SITE}),
    NotificationKind.PRINTER_FAULT: frozenset({Audience.SITE, Audience.COORDINATORS}),
    NotificationKind.PRINTER_OFFLINE: frozenset({Audience.SITE, Audience.COORDINATORS}),
    NotificationKind.BATCH_DONE: frozenset({Audience.HOSPITAL, Audience.COORDINATORS}),
    NotificationKind.DELIVERY_SHIPPED: frozenset({Audience.HOSPITAL, Audience.COORDINATORS}),
    NotificationKind.DELIVERY_RECEIVED: frozenset({Audience.HOSPITAL, Audience.COORDINATORS}),
    NotificationKind.REQUEST_AT_RISK: frozenset({Audience.HOSPITAL, Audience.COORDINATORS}),
}
BED_KINDS = frozenset({NotificationKind.BED_WAITING, NotificationKind.BED_REMINDER})

#: Seconds between a failed attempt and the next one; after the last, the notification has failed.
RETRY_DELAYS_SECONDS: tuple[int, ...] = (30, 120, 600, 1800, 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1
#: How long a sender holds a claimed notification; one that died meanwhile loses it to the next.
CLAIM_LEASE_SECONDS = 300
#: A printer that flaps offline is reported once in this window, not at every drop.
OFFLINE_QUIET_SECONDS = 900


@dataclass(frozen=True)
class BedWaitPolicy:
    """A site's bed-waiting notices: the first after delay_seconds, then reminders every reminder_seconds."""

    delay_seconds: int = 600
    reminder_seconds: int = 1800
    reminders: int = 1


DEFAULT_BED_WAIT = BedWaitPolicy()


@dataclass(frozen=True)
class Facts:
    """What the service looked up for an event's notices (names for people, ids for recipients)."""

    printer_name: str | None = None
    site_id: int | None = None
    site_name: str | None = None
    part_name: str | None = None
    hospital_id: int | None = None
    hospital_name: str | None = None
    units: int | None = None


@dataclass(frozen=True)
class Notice:
    """One notification of one event, before its recipients are known; key is unique per event."""

    kind: NotificationKind
    key: str
    due_at: dt.datetime
    title: str
    body: str
    site_id: int | None = None  # the site whose channels hear it
    hospital_id: int | None = None  # the hospital whose channels hear it
    printer_id: int | None = None
    job_id: int | None = None


@dataclass(frozen=True)
class RequestStanding:
    """An open hospital request as the at-risk check sees it (units from its fulfilment)."""

    request_id: int
    hospital_id: int
    hospital_name: str
    part_name: str
    requested: int
    needed_by: dt.date
    delivered: int  # confirmed received by the hospital
    qc_good: int  # good units QC-recorded for its batches (delivered ones among them)
    in_production: int  # units on its batches' plates assigned, printing or waiting on a bed


def request_due_at(needed_by: dt.date) -> dt.datetime:
    """A request needed by a day is due at that day's start (UTC): the earliest reading, so warnings come early."""
    return dt.datetime.combine(needed_by, dt.time(), tzinfo=dt.UTC)


def units_missing(r: RequestStanding) -> int:
    """Requested units neither delivered nor good off a plate: max(delivered, QC-good) counts as covered."""
    return max(0, r.requested - max(r.delivered, r.qc_good))


def request_at_risk(r: RequestStanding, now: dt.datetime, window: dt.timedelta) -> bool:
    """At risk: due within the window (or overdue), and the units missing exceed what its plates in
    progress will yield. A plate is counted as yielding all its units: the rule warns only when even
    that is not enough, i.e. when someone must open (or enlarge) a batch, not when a reject might."""
    return request_due_at(r.needed_by) - now <= window and units_missing(r) > r.in_production


def request_at_risk_notice(r: RequestStanding, now: dt.datetime) -> Notice:
    """The one notification of a request at risk (its key holds the request alone: told once)."""
    missing = units_missing(r)
    short = missing - r.in_production
    due = request_due_at(r.needed_by)
    when = "overdue since" if due <= now else "due"
    title = f"Request {r.request_id} ({r.part_name} for {r.hospital_name}) at risk"
    body = (f"Request {r.request_id}: {r.requested} units of {r.part_name} for {r.hospital_name}, {when} "
            f"{r.needed_by.isoformat()}. {missing} units are still missing and the plates in progress hold "
            f"{r.in_production}: {short} units have no plate yet.")
    return Notice(NotificationKind.REQUEST_AT_RISK, f"request_at_risk:request:{r.request_id}", now, title, body,
                  hospital_id=r.hospital_id)


def retry_delay(attempts: int) -> dt.timedelta | None:
    """The wait before the next attempt after `attempts` failed ones; None once there are no more."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return dt.timedelta(seconds=RETRY_DELAYS_SECONDS[max(0, attempts - 1)])


def bed_wait_times(finished_at: dt.datetime, policy: BedWaitPolicy) -> list[dt.datetime]:
    """When the bed-waiting notice (first) and its reminders fall due."""
    first = finished_at + dt.timedelta(seconds=policy.delay_seconds)
    return [first + dt.timedelta(seconds=policy.reminder_seconds * n) for n in range(policy.reminders + 1)]


def _printer_label(printer_id: int, facts: Facts) -> str:
    name = facts.printer_name or f"printer {printer_id}"
    return f"{facts.site_name}/{name}" if facts.site_name else name


def _batch_detail(facts: Facts) -> str:
    """' (RC3 headband for Sahlgrenska)', or as much of it as is known."""
    about = " ".join(a for a in (facts.part_name, f"for {facts.hospital_name}" if facts.hospital_name else None) if a)
    return f" ({about})" if about else ""


def notices_for(event: Event, facts: Facts, bed_wait: BedWaitPolicy = DEFAULT_BED_WAIT) -> list[Notice]:
    """The notifications an event means (none for events nobody is told of)."""
    if isinstance(event, PlateFinished):
        label = _printer_label(event.printer_id, facts)
        notices = []
        for n, due in enumerate(bed_wait_times(event.at, bed_wait)):
            waited = round((due - event.at).total_seconds() / 60)
            kind = NotificationKind.BED_WAITING if n == 0 else NotificationKind.BED_REMINDER
            title = f"{label}: plate waiting to be cleared" + (f" (reminder {n})" if n else "")
            body = (f"Plate {event.job_id} of batch {event.batch_id}{_batch_detail(facts)} finished on {label} {waited} min ago and waits on the "
                    "bed: take it off, record good and rejected units, and the printer gets its next plate.")
            notices.append(Notice(kind, f"{kind}:job:{event.job_id}:{n}", due, title, body,
                                  site_id=facts.site_id, printer_id=event.printer_id, job_id=event.job_id))
        return notices
    if isinstance(event, PrinterFault | PrinterOffline):
        label = _printer_label(event.printer_id, facts)
        kind = NotificationKind.PRINTER_FAULT if isinstance(event, PrinterFault) else NotificationKind.PRINTER_OFFLINE
        what = "in fault, waiting for a person" if kind is NotificationKind.PRINTER_FAULT else "unreachable"
        return [Notice(kind, f"{kind}:printer:{event.printer_id}:{event.at.isoformat()}", event.at,
                       f"{label}: {what}", f"{label} is {what}: {event.reason}",
                       site_id=facts.site_id, printer_id=event.printer_id)]
    if isinstance(event, BatchDone):
        body = f"Batch {event.batch_id}{_batch_detail(facts)} is done: {event.good_units} good units."
        return [Notice(NotificationKind.BATCH_DONE, f"batch_done:batch:{event.batch_id}", event.at,
                       f"Batch {event.batch_id} done", body, hospital_id=facts.hospital_id)]
    if isinstance(event, DeliveryShipped | DeliveryReceived):
        shipped = isinstance(event, DeliveryShipped)
        kind = NotificationKind.DELIVERY_SHIPPED if shipped else NotificationKind.DELIVERY_RECEIVED
        units = f"{facts.units} units" if facts.units is not None else "units"
        part = f" of {facts.part_name}" if facts.part_name else ""
        to = facts.hospital_name or f"hospital {event.hospital_id}"
        body = (f"Delivery {event.delivery_id}: {units}{part} shipped to {to}." if shipped
                else f"Delivery {event.delivery_id}: {to} received {units}{part}.")
        verb = "shipped" if shipped else "received"
        return [Notice(kind, f"{kind}:delivery:{event.delivery_id}", event.at,
                       f"Delivery {event.delivery_id} {verb}", body, hospital_id=event.hospital_id)]
    return []


def wants(audience: Audience, site_id: int | None, hospital_id: int | None, kinds: Iterable[str] | None,
          notice: Notice) -> bool:
    """Whether a channel (its audience, site or hospital, and kinds; None: every kind) hears the notice."""
    if audience not in AUDIENCES[notice.kind]:
        return False
    if kinds is not None and notice.kind.value not in set(kinds):
        return False
    if audience is Audience.SITE:
        return site_id is not None and site_id == notice.site_id
    if audience is Audience.HOSPITAL:
        return hospital_id is not None and hospital_id == notice.hospital_id
    return True


def may_manage(actor: Actor, audience: Audience, site_id: int | None, hospital_id: int | None) -> bool:
    """Admins and coordinators set every channel; an operator its own site's; a hospital token its hospital's."""
    if actor.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    if actor.role is Role.OPERATOR:
        return audience is Audience.SITE and site_id is not None and site_id == actor.site_id
    if actor.role is Role.HOSPITAL:
        return audience is Audience.HOSPITAL and hospital_id is not None and hospital_id == actor.hospital_id
    return False


def manages_some(actor: Actor) -> bool:
    """Whether the actor may manage any channel at all (the dashboard offers it the notifications page)."""
    return (actor.role in (Role.ADMIN, Role.COORDINATOR) or (actor.role is Role.OPERATOR and actor.site_id is not None)
            or (actor.role is Role.HOSPITAL and actor.hospital_id is not None))


def require_manage(actor: Actor, audience: Audience, site_id: int | None, hospital_id: int | None) -> None:
    """Forbidden unless the actor may set or see channels of this audience (and site or hospital)."""
    if may_manage(actor, audience, site_id, hospital_id):
        return
    if actor.role is Role.OPERATOR:
        raise Forbidden(f"operator of site {actor.site_id} may not manage notifications of "
                        + (f"site {site_id}" if audience is Audience.SITE else f"the {audience.value} audience"))
    if actor.role is Role.HOSPITAL:
        raise Forbidden(f"hospital {actor.hospital_id}'s token may not manage notifications of "
                        + (f"hospital {hospital_id}" if audience is Audience.HOSPITAL else f"the {audience.value} audience"))
    raise Forbidden(f"role {actor.role.value} may not manage notifications")

"""Every query of notifications: channels, sites' delays, the outbox and its claims."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from printfarm.db.tables import (
    Batch,
    Delivery,
    Hospital,
    HospitalRequest,
    Notification,
    NotificationChannel,
    NotificationSiteSettings,
    Part,
    Printer,
    PrintJob,
    Site,
)
from printfarm.hospital_requests.repository import fulfilment
from printfarm.jobs.rules import JobState
from printfarm.notifications.rules import Facts, NotificationKind, NotificationState, RequestStanding


# -- channels ------------------------------------------------------------------------------------


def live_channels(session: Session, *, site_id: int | None = None, hospital_id: int | None = None,
                  ids: Collection[int] | None = None) -> list[NotificationChannel]:
    query = select(NotificationChannel).where(NotificationChannel.removed_at.is_(None)).order_by(NotificationChannel.id)
    if site_id is not None:
        query = query.where(NotificationChannel.site_id == site_id)
    if hospital_id is not None:
        query = query.where(NotificationChannel.hospital_id == hospital_id)
    if ids is not None:
        query = query.where(NotificationChannel.id.in_(ids))
    return list(session.scalars(query))


def every_channel(session: Session) -> list[NotificationChannel]:
    """Removed ones too (their URLs are still encrypted under the key)."""
    return list(session.scalars(select(NotificationChannel).order_by(NotificationChannel.id)))


def site_settings(session: Session, site_id: int) -> NotificationSiteSettings | None:
    return session.get(NotificationSiteSettings, site_id)


# -- facts of events -----------------------------------------------------------------------------


def printer_facts(session: Session, printer_id: int) -> Facts:
    row = session.execute(
        select(Printer.name, Site.id, Site.name).join(Site, Site.id == Printer.site_id).where(Printer.id == printer_id)
    ).first()
    return Facts(printer_name=row[0], site_id=row[1], site_name=row[2]) if row else Facts()


def batch_facts(session: Session, batch_id: int) -> Facts:
    row = session.execute(
        select(Part.name, Hospital.id, Hospital.name).select_from(Batch)
        .join(Part, Part.id == Batch.part_id).join(Hospital, Hospital.id == Batch.hospital_id)
        .where(Batch.id == batch_id)
    ).first()
    return Facts(part_name=row[0], hospital_id=row[1], hospital_name=row[2]) if row else Facts()


def delivery_facts(session: Session, delivery_id: int) -> Facts:
    row = session.execute(
        select(Part.name, Hospital.id, Hospital.name, Delivery.units, Delivery.units_received).select_from(Delivery)
        .join(Part, Part.id == Delivery.part_id).join(Hospital, Hospital.id == Delivery.hospital_id)
        .where(Delivery.id == delivery_id)
    ).first()
    if row is None:
        return Facts()
    units = row[4] if row[4] is not None else row[3]
    return Facts(part_name=row[0], hospital_id=row[1], hospital_name=row[2], units=units)


def plates_on_bed(session: Session, job_ids: Collection[int]) -> set[int]:
    """Of these plates, those still finished and waiting for their bed to be cleared."""
    if not job_ids:
        return set()
    query = select(PrintJob.id).where(PrintJob.id.in_(job_ids), PrintJob.state == JobState.FINISHED)
    return set(session.scalars(query))


def requests_needed_by(session: Session, last_day: dt.date) -> list[RequestStanding]:
    """Open requests needed by last_day or earlier, with their fulfilment (hospital_requests' own sums)."""
    rows = session.execute(
        select(HospitalRequest.id, HospitalRequest.hospital_id, Hospital.name, Part.name, HospitalRequest.quantity,
               HospitalRequest.needed_by)
        .join(Hospital, Hospital.id == HospitalRequest.hospital_id).join(Part, Part.id == HospitalRequest.part_id)
        .where(HospitalRequest.is_closed.is_(False), HospitalRequest.needed_by.is_not(None),
               HospitalRequest.needed_by <= last_day)
        .order_by(HospitalRequest.id)
    ).all()
    done = fulfilment(session, [r[0] for r in rows])
    standings = []
    for request_id, hospital_id, hospital_name, part_name, quantity, needed_by in rows:
        if needed_by is None:  # not selected; the column is nullable
            continue
        f = done[request_id]
        standings.append(RequestStanding(request_id, hospital_id, hospital_name, part_name, quantity, needed_by,
                                         delivered=f.delivered, qc_good=f.qc_passed, in_production=f.in_production))
    return standings


# -- the outbox ----------------------------------------------------------------------------------


def insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert notifications, skipping any whose (key, channel) exists already; how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (insert(Notification).values(list(rows)).on_conflict_do_nothing(index_elements=["key", "channel_id"])
                 .returning(Notification.id))
    return len(session.execute(statement).all())  # (psycopg's rowcount of a multi-row insert is -1)


def recently_recorded(session: Session, kind: NotificationKind, printer_id: int, since: dt.datetime) -> bool:
    query = select(Notification.id).where(
        Notification.kind == kind, Notification.printer_id == printer_id, Notification.created_at >= since,
    ).limit(1)
    return session.scalar(query) is not None


def cancel_pending(session: Session, *, job_id: int | None = None, printer_id: int | None = None,
                   kinds: Collection[NotificationKind] | None = None, channel_id: int | None = None,
                   reason: str) -> int:
    """Pending notifications no longer to be sent (a claimed one is on its way already)."""
    conditions = [Notification.state == NotificationState.PENDING]
    if job_id is not None:
        conditions.append(Notification.job_id == job_id)
    if printer_id is not None:
        conditions.append(Notification.printer_id == printer_id)
    if kinds is not None:
        conditions.append(Notification.kind.in_(list(kinds)))
    if channel_id is not None:
        conditions.append(Notification.channel_id == channel_id)
    result = session.execute(
        update(Notification).where(*conditions).values(state=NotificationState.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _claimable(now: dt.datetime) -> Any:
    return or_(
        (Notification.state == NotificationState.PENDING) & (Notification.due_at <= now),
        # its sender died holding it (a SIGKILL, a lost replica): the lease ran out
        (Notification.state == NotificationState.SENDING) & (Notification.claimed_until < now),
    )


def has_due(session: Session, now: dt.datetime) -> bool:
    return session.scalar(select(Notification.id).where(_claimable(now)).limit(1)) is not None


def claim_due(session: Session, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[tuple[Notification, bytes]]:
    """Claim up to limit due notifications for this sender, with their channels' encrypted URLs.

    Each is claimed by a conditional UPDATE (and on PostgreSQL read FOR UPDATE SKIP LOCKED, so
    senders in other replicas take other rows): a row another sender claimed meanwhile is left to it.
    Its attempts count is raised by one: the claim's fencing token for settle().
    """
    query = select(Notification.id).where(_claimable(now)).order_by(Notification.due_at, Notification.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for notification_id in session.scalars(query).all():
        result = session.execute(
            update(Notification).where(Notification.id == notification_id, _claimable(now))
            .values(state=NotificationState.SENDING, claimed_until=now + lease, attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            claimed.append(notification_id)
    if not claimed:
        return []
    rows = session.execute(
        select(Notification, NotificationChannel.url_encrypted)
        .join(NotificationChannel, NotificationChannel.id == Notification.channel_id)
        .where(Notification.id.in_(claimed)).order_by(Notification.due_at, Notification.id)
        .execution_options(populate_existing=True)
    ).all()
    return [(notification, url) for notification, url in rows]


def settle(session: Session, notification_id: int, attempts: int, **values: Any) -> bool:
    """Record the outcome of the claim made at `attempts`; False if the claim was lost meanwhile."""
    result = session.execute(
        update(Notification).where(
            Notification.id == notification_id, Notification.attempts == attempts,
            Notification.state == NotificationState.SENDING,
        ).values(claimed_until=None, **values).execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def list_notifications(session: Session, channel_ids: Collection[int] | None, state: NotificationState | None,
                       limit: int) -> list[Notification]:
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if channel_ids is not None:
        query = query.where(Notification.channel_id.in_(channel_ids))
    if state is not None:
        query = query.where(Notification.state == state)
    return list(session.scalars(query))

"""Notifications: record what each event means for whom (a bus subscriber), send it once (a task).

Recording happens on the thread that published the event, in its own short unit of work that only
inserts rows (one per notice and channel, unique per event key and channel, so a replayed event or
a second replica adds nothing). Sending happens in the scheduler's task: due rows are claimed in
the database, sent outside any transaction, then settled (sent; or retried later with backoff;
or failed, with the reason). A sender that dies holding a claim loses it when its lease runs out,
so a notification is sent once, or, if the process died between sending and settling, once more.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from printfarm.adapters.notify import ChannelFailed, Notifier
from printfarm.adapters.secrets import SecretBox
from printfarm.audit.service import record
from printfarm.auth.rules import Actor, Role
from printfarm.clock import Clock
from printfarm.db.lookup import get_existing
from printfarm.db.session import Database, lock_for_writing
from printfarm.db.tables import Hospital, NotificationChannel, NotificationSiteSettings, Site
from printfarm.errors import ConfigError, Forbidden
from printfarm.events import (
    BatchDone,
    BedCleared,
    DeliveryReceived,
    DeliveryShipped,
    Event,
    PlateFinished,
    PrinterFault,
    PrinterOffline,
)
from printfarm.notifications import repository, rules
from printfarm.notifications.rules import Audience, BedWaitPolicy, NotificationKind, NotificationState
from printfarm.notifications.schemas import (
    ChannelCreate,
    ChannelRead,
    NotificationRead,
    SiteNotifySettings,
    SiteNotifySettingsRead,
)

log = logging.getLogger(__name__)

#: The events a notification may come of (the bus subscription).
NOTIFYING_EVENTS: tuple[type[Event], ...] = (
    PlateFinished, BedCleared, PrinterFault, PrinterOffline, BatchDone, DeliveryShipped, DeliveryReceived,
)
SEND_BATCH = 20


@dataclass
class SendReport:
    """One pass of the sender: what it settled."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class _Claim:
    id: int
    attempts: int
    channel_id: int
    kind: NotificationKind
    title: str
    body: str
    url_encrypted: bytes


class NotificationService:
    """Channels and sites' delays (API, CLI), recording of events (the bus) and the sender (a task)."""

    def __init__(self, db: Database, clock: Clock, secrets: SecretBox, notifier: Notifier,
                 *, send_timeout_seconds: float = 20.0, request_risk_window_hours: float = 48.0) -> None:
        self._db = db
        self._request_risk_window = dt.timedelta(hours=request_risk_window_hours)
        self._clock = clock
        self._secrets = secrets
        self._notifier = notifier
        self._send_timeout_seconds = send_timeout_seconds

    # -- channels ----------------------------------------------------------------------------

    def add_channel(self, session: Session, actor: Actor, data: ChannelCreate) -> ChannelRead:
        """A new channel; InputError if Apprise cannot use its URL, Forbidden outside the actor's site or hospital."""
        rules.require_manage(actor, data.audience, data.site_id, data.hospital_id)
        if data.site_id is not None:
            get_existing(session, Site, data.site_id, "site")
        if data.hospital_id is not None:
            get_existing(session, Hospital, data.hospital_id, "hospital")
        display = self._notifier.describe(data.url)
        channel = NotificationChannel(
            audience=data.audience, site_id=data.site_id, hospital_id=data.hospital_id,
            url_encrypted=self._secrets.encrypt(data.url), display=display, label=data.label,
            kinds=[k.value for k in data.kinds] if data.kinds else None,
            created_by=actor.label, created_at=self._clock.now(),
        )
        session.add(channel)
        session.flush()
        record(session, actor, channel.created_at, "notify.channel.add", "notification_channel", channel.id,
               {"audience": data.audience.value, "site_id": data.site_id, "hospital_id": data.hospital_id,
                "display": display})
        log.info("notification channel %s added for %s %s (%s)", channel.id, data.audience.value,
                 data.site_id or data.hospital_id or "", display)
        return ChannelRead.model_validate(channel)

    def list_channels(self, session: Session, actor: Actor, *, site_id: int | None = None,
                      hospital_id: int | None = None) -> list[ChannelRead]:
        """The live channels the actor may manage (an operator: its site's; a hospital token: its hospital's)."""
        if actor.role is Role.OPERATOR:
            site_id = self._own(actor.site_id, site_id, "operator of site", "site")
        elif actor.role is Role.HOSPITAL:
            hospital_id = self._own(actor.hospital_id, hospital_id, "hospital token of", "hospital")
        elif actor.role not in (Role.ADMIN, Role.COORDINATOR):
            raise Forbidden(f"role {actor.role.value} may not manage notifications")
        channels = repository.live_channels(session, site_id=site_id, hospital_id=hospital_id)
        return [ChannelRead.model_validate(c) for c in channels
                if rules.may_manage(actor, c.audience, c.site_id, c.hospital_id)]

    @staticmethod
    def _own(own_id: int | None, asked: int | None, who: str, what: str) -> int | None:
        if asked is not None and asked != own_id:
            raise Forbidden(f"{who} {own_id} may not manage notifications of {what} {asked}")
        return own_id

    def remove_channel(self, session: Session, actor: Actor, channel_id: int) -> ChannelRead:
        """Stop a channel; its pending notifications are cancelled (its record stays)."""
        channel = get_existing(session, NotificationChannel, channel_id, "notification channel")
        rules.require_manage(actor, channel.audience, channel.site_id, channel.hospital_id)
        if channel.removed_at is None:
            channel.removed_at = self._clock.now()
            repository.cancel_pending(session, channel_id=channel.id, reason="channel removed")
            record(session, actor, channel.removed_at, "notify.channel.remove", "notification_channel", channel.id)
        return ChannelRead.model_validate(channel)

    def reencrypt_urls(self, session: Session, actor: Actor, box: SecretBox) -> int:
        """Re-encrypt every channel URL under box's newest key (secrets rotate); ConfigError if one cannot be opened."""
        channels = repository.every_channel(session)
        for channel in channels:
            channel.url_encrypted = box.rotate(channel.url_encrypted)
        record(session, actor, self._clock.now(), "secrets.rotate", "notification_channel", None,
               {"channels": len(channels)})
        return len(channels)

    # -- sites' delays -----------------------------------------------------------------------

    def site_settings(self, session: Session, actor: Actor, site_id: int) -> SiteNotifySettingsRead:
        rules.require_manage(actor, Audience.SITE, site_id, None)
        get_existing(session, Site, site_id, "site")
        policy = self._bed_wait(session, site_id)
        return SiteNotifySettingsRead(site_id=site_id, bed_wait_delay_seconds=policy.delay_seconds,
                                      bed_reminder_seconds=policy.reminder_seconds, bed_reminders=policy.reminders)

    def set_site_settings(self, session: Session, actor: Actor, site_id: int,
                          data: SiteNotifySettings) -> SiteNotifySettingsRead:
        """The site's bed-wait delays, for plates that finish from now on."""
        rules.require_manage(actor, Audience.SITE, site_id, None)
        get_existing(session, Site, site_id, "site")
        row = repository.site_settings(session, site_id)
        if row is None:
            row = NotificationSiteSettings(site_id=site_id)
            session.add(row)
        row.bed_wait_delay_seconds = data.bed_wait_delay_seconds
        row.bed_reminder_seconds = data.bed_reminder_seconds
        row.bed_reminders = data.bed_reminders
        row.updated_at = self._clock.now()
        record(session, actor, row.updated_at, "notify.site.settings", "site", site_id, data.model_dump())
        return SiteNotifySettingsRead(site_id=site_id, **data.model_dump())

    @staticmethod
    def _bed_wait(session: Session, site_id: int | None) -> BedWaitPolicy:
        row = repository.site_settings(session, site_id) if site_id is not None else None
        if row is None:
            return rules.DEFAULT_BED_WAIT
        return BedWaitPolicy(row.bed_wait_delay_seconds, row.bed_reminder_seconds, row.bed_reminders)

    # -- the record --------------------------------------------------------------------------

    def list_notifications(self, session: Session, actor: Actor, *, state: NotificationState | None = None,
                           channel_id: int | None = None, limit: int = 100) -> list[NotificationRead]:
        """Notifications to the channels the actor may manage, newest first."""
        if actor.role in (Role.ADMIN, Role.COORDINATOR):
            channel_ids: list[int] | None = None if channel_id is None else [channel_id]
        else:
            channel_ids = [c.id for c in self.list_channels(session, actor)
                           if channel_id is None or c.id == channel_id]
        rows = repository.list_notifications(session, channel_ids, state, limit)
        return [NotificationRead.model_validate(n) for n in rows]

    # -- recording (the bus subscriber) ------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Record the notifications of a published event, in a unit of work of its own."""
        with self._db.unit_of_work() as session:
            self.record_event(session, event)

    def record_event(self, session: Session, event: Event) -> int:
        """Insert the event's notifications (one per notice and channel that hears it); how many were new."""
        if isinstance(event, BedCleared):
            cancelled = repository.cancel_pending(
                session, job_id=event.job_id, printer_id=None if event.job_id is not None else event.printer_id,
                kinds=rules.BED_KINDS, reason="bed cleared",
            )
            if cancelled:
                log.info("printer %s: bed cleared, %s bed notifications cancelled", event.printer_id, cancelled)
            return 0
        channels = repository.live_channels(session)
        if not channels:
            return 0  # the common case on a farm nobody subscribed: no lookups on the committing thread
        facts = self._facts(session, event)
        if isinstance(event, PrinterOffline) and repository.recently_recorded(
            session, NotificationKind.PRINTER_OFFLINE, event.printer_id,
            event.at - dt.timedelta(seconds=rules.OFFLINE_QUIET_SECONDS),
        ):
            return 0  # it flaps: told once per quiet window
        policy = self._bed_wait(session, facts.site_id)
        notices = rules.notices_for(event, facts, policy)
        if not notices:
            return 0
        added = self._insert(session, notices, channels)
        if added:
            log.info("%s: %s notifications recorded", type(event).__name__, added)
        return added

    def _insert(self, session: Session, notices: list[rules.Notice], channels: list[NotificationChannel]) -> int:
        """One row per notice and channel that hears it; those recorded before are skipped."""
        now = self._clock.now()
        rows: list[dict[str, Any]] = [
            {"key": n.key, "channel_id": c.id, "kind": n.kind, "state": NotificationState.PENDING,
             "title": n.title[:200], "body": n.body, "printer_id": n.printer_id, "job_id": n.job_id,
             "due_at": n.due_at, "attempts": 0, "created_at": now}
            for n in notices for c in channels if rules.wants(c.audience, c.site_id, c.hospital_id, c.kinds, n)
        ]
        return repository.insert_new(session, rows)

    # -- requests at risk (a periodic check, not an event) -----------------------------------

    def check_requests_at_risk(self) -> int:
        """Record a notification for each open request due within the window that its plates in progress
        will not fill (rules.request_at_risk); once per request and channel. How many were new."""
        with self._db.unit_of_work() as session:
            channels = repository.live_channels(session)
            if all(c.audience is Audience.SITE for c in channels):
                return 0  # nobody hears of requests
            now = self._clock.now()
            last_day = (now + self._request_risk_window).date()
            notices = [rules.request_at_risk_notice(r, now) for r in repository.requests_needed_by(session, last_day)
                       if rules.request_at_risk(r, now, self._request_risk_window)]
            added = self._insert(session, notices, channels)
        if added:
            log.info("requests at risk: %s notifications recorded (%s requests at risk)", added, len(notices))
        return added

    @staticmethod
    def _facts(session: Session, event: Event) -> rules.Facts:
        if isinstance(event, PlateFinished):
            printer, batch = repository.printer_facts(session, event.printer_id), repository.batch_facts(session, event.batch_id)
            return rules.Facts(printer_name=printer.printer_name, site_id=printer.site_id, site_name=printer.site_name,
                               part_name=batch.part_name, hospital_id=batch.hospital_id, hospital_name=batch.hospital_name)
        if isinstance(event, PrinterFault | PrinterOffline):
            return repository.printer_facts(session, event.printer_id)
        if isinstance(event, BatchDone):
            return repository.batch_facts(session, event.batch_id)
        if isinstance(event, DeliveryShipped | DeliveryReceived):
            return repository.delivery_facts(session, event.delivery_id)
        return rules.Facts()

    # -- sending (the scheduler task) --------------------------------------------------------

    def send_due(self, *, batch_size: int = SEND_BATCH, max_batches: int = 10) -> SendReport:
        """Send what is due now: claim, send outside any transaction, settle. Never raises for a channel."""
        report = SendReport()
        for _ in range(max_batches):
            claims = self._claim(batch_size, report)
            for claim in claims:
                self._deliver(claim, report)
            if len(claims) < batch_size:
                break
        return report

    def _claim(self, batch_size: int, report: SendReport) -> list[_Claim]:
        with self._db.unit_of_work() as session:
            if not repository.has_due(session, self._clock.now()):
                return []  # most ticks: a read, no write lock (SQLite's is the whole database's)
        with self._db.unit_of_work() as session:
            lock_for_writing(session)
            now = self._clock.now()
            rows = repository.claim_due(session, now, batch_size, dt.timedelta(seconds=rules.CLAIM_LEASE_SECONDS))
            bed_jobs = {n.job_id for n, _ in rows if n.kind in rules.BED_KINDS and n.job_id is not None}
            waiting = repository.plates_on_bed(session, bed_jobs)
            claims = []
            for notification, url in rows:
                if notification.kind in rules.BED_KINDS and notification.job_id not in waiting:
                    # the BedCleared that would have cancelled it went astray: the plate is off the bed
                    repository.settle(session, notification.id, notification.attempts,
                                      state=NotificationState.CANCELLED, last_error="bed cleared")
                    report.cancelled += 1
                    continue
                claims.append(_Claim(notification.id, notification.attempts, notification.channel_id,
                                     notification.kind, notification.title, notification.body, url))
            return claims

    def _deliver(self, claim: _Claim, report: SendReport) -> None:
        error: str | None = None
        try:
            url = self._secrets.decrypt(claim.url_encrypted)
            self._notifier.send(url, claim.title, claim.body, self._send_timeout_seconds)
        except (ChannelFailed, ConfigError) as err:
            error = str(err)
        except Exception as err:  # one broken channel must not stop the others
            log.exception("notification %s: sending to channel %s raised", claim.id, claim.channel_id)
            error = f"{type(err).__name__}"
        now = self._clock.now()
        values: dict[str, Any]
        if error is None:
            values = {"state": NotificationState.SENT, "sent_at": now}
        else:
            delay = rules.retry_delay(claim.attempts)
            values = {"last_error": error[:500], "state": NotificationState.FAILED if delay is None
                      else NotificationState.PENDING}
            if delay is not None:
                values["due_at"] = now + delay
        with self._db.unit_of_work() as session:
            settled = repository.settle(session, claim.id, claim.attempts, **values)
        if not settled:
            log.warning("notification %s: its claim ran out before it was settled; another sender has it", claim.id)
        elif error is None:
            report.sent += 1
            log.info("notification %s (%s) sent to channel %s", claim.id, claim.kind.value, claim.channel_id)
        elif values["state"] is NotificationState.FAILED:
            report.failed += 1
            log.warning("notification %s (%s) to channel %s failed after %s attempts: %s",
                        claim.id, claim.kind.value, claim.channel_id, claim.attempts, error)
        else:
            report.retrying += 1
            log.warning("notification %s (%s) to channel %s failed (attempt %s), retried at %s: %s",
                        claim.id, claim.kind.value, claim.channel_id, claim.attempts, values["due_at"], error)

"""Every table of the domain (DESIGN.md); ORM classes are tables, nothing more."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from printfarm.auth.rules import Role
from printfarm.db.base import Base
from printfarm.deliveries.rules import DeliveryState
from printfarm.exchange.rules import PostCategory, PostKind
from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.notifications.rules import Audience, NotificationKind, NotificationState
from printfarm.printers.rules import ConnectionState


def _enum(enum_class: type) -> Enum:
    return Enum(
        enum_class,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    city: Mapped[str | None] = mapped_column(String(120))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)  # drained: no new plates
    auto_accept_qc: Mapped[bool] = mapped_column(Boolean, default=False)
    # Dispatch settings of the workshop (dispatch/rules.py): None means no limit.
    allowed_part_ids: Mapped[list[int] | None] = mapped_column(JSON)
    work_starts_at: Mapped[dt.time | None] = mapped_column(Time)  # local time, plates start from
    work_ends_at: Mapped[dt.time | None] = mapped_column(Time)  # ... until (before start: overnight)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    heatup_max_starts: Mapped[int | None] = mapped_column(Integer)  # at most K starts ...
    heatup_window_seconds: Mapped[int | None] = mapped_column(Integer)  # ... within M seconds
    created_at: Mapped[dt.datetime]


class PrinterProfile(Base):
    __tablename__ = "printer_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)  # e.g. prusa-mk3s-0.4
    printer_model: Mapped[str] = mapped_column(String(80))
    nozzle_mm: Mapped[float] = mapped_column(Float)
    build_x_mm: Mapped[float] = mapped_column(Float)
    build_y_mm: Mapped[float] = mapped_column(Float)
    build_z_mm: Mapped[float] = mapped_column(Float)
    slicer_config: Mapped[str | None] = mapped_column(String(200))  # file under config/profiles/


class Printer(Base):
    __tablename__ = "printers"
    __table_args__ = (
        UniqueConstraint("site_id", "name", name="uq_printers_site_name"),
        # Dashboards count printers by state, and by site, from these indexes alone (no table rows read).
        Index("ix_printers_state", "connection", "is_enabled", "is_bed_clear"),
        Index("ix_printers_site_state", "site_id", "connection", "is_enabled", "is_bed_clear"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("printer_profiles.id"))
    name: Mapped[str] = mapped_column(String(120))
    #: which client and MQTT feed drive it (printers.kinds); OctoPrint is the first kind
    kind: Mapped[str] = mapped_column(String(32), default="octoprint", server_default="octoprint")
    base_url: Mapped[str] = mapped_column(String(500))
    api_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    mqtt_base_topic: Mapped[str] = mapped_column(String(200), unique=True)
    loaded_material: Mapped[str] = mapped_column(String(40), default="PLA")
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    is_bed_clear: Mapped[bool] = mapped_column(Boolean, default=True)
    connection: Mapped[ConnectionState] = mapped_column(_enum(ConnectionState), default=ConnectionState.UNKNOWN)
    connection_reason: Mapped[str | None] = mapped_column(String(500))  # why (printers/rules.py)
    connection_changed_at: Mapped[dt.datetime | None]
    state_text: Mapped[str | None] = mapped_column(String(80))  # OctoPrint's own state string
    tool_temp_c: Mapped[float | None] = mapped_column(Float)
    bed_temp_c: Mapped[float | None] = mapped_column(Float)
    last_seen_at: Mapped[dt.datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)  # failed starts in a row
    offline_checks: Mapped[int] = mapped_column(Integer, default=0)  # failed health checks in a row
    retry_after: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class PrinterTimelineEntry(Base):
    """One thing that happened to a printer (connection, fault, plate, bed): printers/timeline.py writes them."""

    __tablename__ = "printer_timeline"
    __table_args__ = (Index("ix_printer_timeline_printer_id_id", "printer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id"))
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(40))  # online, offline, fault, plate_started, bed_cleared, ...
    job_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(500))


class Part(Base):
    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    design_version: Mapped[str | None] = mapped_column(String(40))
    stl_sha256: Mapped[str | None] = mapped_column(String(64))
    stl_filename: Mapped[str | None] = mapped_column(String(255))
    stl_verdict: Mapped[str | None] = mapped_column(String(20))  # ok | warning | rejected
    stl_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]


class PrintFile(Base):
    __tablename__ = "print_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("printer_profiles.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    units_per_print: Mapped[int] = mapped_column(Integer)
    material: Mapped[str | None] = mapped_column(String(40))
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]

    __table_args__ = (CheckConstraint("units_per_print > 0", name="units_positive"),)


class Hospital(Base):
    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    city: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime]


class HospitalRequest(Base):
    __tablename__ = "hospital_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    needed_by: Mapped[dt.date | None] = mapped_column(Date)
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    delivery_address: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("hospital_requests.id"))
    quantity: Mapped[int] = mapped_column(Integer)  # units wanted
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher is more urgent
    due_at: Mapped[dt.datetime | None]
    is_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


_ACTIVE_JOBS = "state IN (%s)" % ", ".join(f"'{s.value}'" for s in sorted(ACTIVE))


class PrintJob(Base):
    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id"), index=True)
    print_file_id: Mapped[int] = mapped_column(ForeignKey("print_files.id"))
    units_per_print: Mapped[int] = mapped_column(Integer)
    state: Mapped[JobState] = mapped_column(_enum(JobState), index=True)
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    remote_filename: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    good_units: Mapped[int | None] = mapped_column(Integer)
    rejected_units: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)  # claim time: heat-up stagger counts it
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        # The claim guard: a printer holds at most one active job, whatever the number of replicas.
        Index(
            "uq_print_jobs_one_active_per_printer",
            "printer_id",
            unique=True,
            sqlite_where=text("state IN (%s)" % ", ".join(f"'{s.value}'" for s in sorted(ACTIVE))),
            postgresql_where=text("state IN (%s)" % ", ".join(f"'{s.value}'" for s in sorted(ACTIVE))),
        ),
        # Dashboards read the units in production per batch from this alone, never the history.
        Index(
            "ix_print_jobs_active_batch", "batch_id", "units_per_print",
            sqlite_where=text(_ACTIVE_JOBS), postgresql_where=text(_ACTIVE_JOBS),
        ),
    )


class Output(Base):
    """Good and rejected units of one QC-recorded plate; counts are sums over these rows."""

    __tablename__ = "outputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("print_jobs.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    good_units: Mapped[int] = mapped_column(Integer)
    rejected_units: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime]

    __table_args__ = (CheckConstraint("good_units >= 0 AND rejected_units >= 0", name="units_not_negative"),)


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("hospital_requests.id"))
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState), default=DeliveryState.PLANNED)
    units: Mapped[int] = mapped_column(Integer)
    units_received: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    received_by: Mapped[str | None] = mapped_column(String(200))  # the name the receiver signed with
    receipt_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    shipped_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint("units > 0", name="units_positive"),
        CheckConstraint("units_received IS NULL OR (units_received >= 0 AND units_received <= units)",
                        name="received_within_units"),
    )


class DeliverySource(Base):
    """Units of one delivery taken from one QC-recorded plate (first in, first out)."""

    __tablename__ = "delivery_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    output_id: Mapped[int] = mapped_column(ForeignKey("outputs.id"), index=True)
    units: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("units > 0", name="units_positive"),)


class ExchangePost(Base):
    """An offer or a need on the cooperation board (capacity, material, transport)."""

    __tablename__ = "exchange_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind))
    category: Mapped[PostCategory] = mapped_column(_enum(PostCategory))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    detail: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(40))  # e.g. kg, printers, trips
    printer_ids: Mapped[list[int] | None] = mapped_column(JSON)  # capacity offers: the printers offered
    available_until: Mapped[dt.date | None] = mapped_column(Date)
    posted_by: Mapped[str] = mapped_column(String(160))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"))  # hospital tokens only
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_token_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OutputDaily(Base):
    """Good and rejected units per site and day: the sums of Output rows, kept in the QC transaction.

    Dashboards and /metrics read this instead of summing every Output row on each request;
    `printfarm.output.repository.rebuild_rollups` recomputes it from outputs.
    """

    __tablename__ = "output_daily"
    # The chart of units per day reads the days it shows from this index alone.
    __table_args__ = (Index("ix_output_daily_day_units", "day", "good_units", "rejected_units"),)

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    good_units: Mapped[int] = mapped_column(Integer, default=0)
    rejected_units: Mapped[int] = mapped_column(Integer, default=0)
    plates: Mapped[int] = mapped_column(Integer, default=0)


class OutputByBatch(Base):
    """Good and rejected units per batch: the sums of its Output rows, kept in the QC transaction."""

    __tablename__ = "output_by_batch"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    good_units: Mapped[int] = mapped_column(Integer, default=0)
    rejected_units: Mapped[int] = mapped_column(Integer, default=0)
    plates: Mapped[int] = mapped_column(Integer, default=0)


class OutputBySite(Base):
    """Good and rejected units per site since the start: the sums of its Output rows, kept in the QC
    transaction, so totals and per-site figures read one row per site instead of every day's."""

    __tablename__ = "output_by_site"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    good_units: Mapped[int] = mapped_column(Integer, default=0)
    rejected_units: Mapped[int] = mapped_column(Integer, default=0)
    plates: Mapped[int] = mapped_column(Integer, default=0)


# -- notifications (printfarm/notifications) ---------------------------------------------------------


class NotificationChannel(Base):
    """Where one audience is told: an Apprise URL (encrypted: it may hold a password or token)."""

    __tablename__ = "notification_channels"
    __table_args__ = (
        CheckConstraint(
            "(audience = 'site' AND site_id IS NOT NULL AND hospital_id IS NULL)"
            " OR (audience = 'hospital' AND hospital_id IS NOT NULL AND site_id IS NULL)"
            " OR (audience = 'coordinators' AND site_id IS NULL AND hospital_id IS NULL)",
            name="audience_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[Audience] = mapped_column(_enum(Audience))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    url_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    display: Mapped[str] = mapped_column(String(200))  # scheme://host: what may be shown of the URL
    label: Mapped[str | None] = mapped_column(String(120))
    kinds: Mapped[list[str] | None] = mapped_column(JSON)  # None: every kind its audience hears
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[dt.datetime]
    removed_at: Mapped[dt.datetime | None]


class NotificationSiteSettings(Base):
    """A site's bed-waiting notices: the delay after a plate finishes, then the reminders."""

    __tablename__ = "notification_site_settings"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    bed_wait_delay_seconds: Mapped[int] = mapped_column(Integer)
    bed_reminder_seconds: Mapped[int] = mapped_column(Integer)
    bed_reminders: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime]


class Notification(Base):
    """One message of one event to one channel: claimed by one sender, retried, recorded."""

    __tablename__ = "notifications"
    __table_args__ = (
        # exactly once: one event's notice reaches one channel at most once, whichever replica records it
        UniqueConstraint("key", "channel_id", name="uq_notifications_key_channel"),
        Index("ix_notifications_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind))
    state: Mapped[NotificationState] = mapped_column(_enum(NotificationState))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    printer_id: Mapped[int | None] = mapped_column(Integer)
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)  # bed notices end when its bed is cleared
    due_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]

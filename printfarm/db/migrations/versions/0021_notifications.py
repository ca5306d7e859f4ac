"""notifications: channels per audience (encrypted Apprise URLs), sites' bed-wait delays, the outbox

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import printfarm.db.base

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

KINDS = ("bed_waiting", "bed_reminder", "printer_fault", "printer_offline", "batch_done",
         "delivery_shipped", "delivery_received")
STATES = ("pending", "sending", "sent", "failed", "cancelled")


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.Enum("site", "hospital", "coordinators", name="audience", native_enum=False,
                                      length=20), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("hospital_id", sa.Integer(), nullable=True),
        sa.Column("url_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("display", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", printfarm.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", printfarm.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(audience = 'site' AND site_id IS NOT NULL AND hospital_id IS NULL)"
            " OR (audience = 'hospital' AND hospital_id IS NOT NULL AND site_id IS NULL)"
            " OR (audience = 'coordinators' AND site_id IS NULL AND hospital_id IS NULL)",
            name=op.f("ck_notification_channels_audience_target"),
        ),
        sa.ForeignKeyConstraint(["hospital_id"], ["hospitals.id"],
                                name=op.f("fk_notification_channels_hospital_id_hospitals")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_notification_channels_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    with op.batch_alter_table("notification_channels") as batch:
        batch.create_index(batch.f("ix_notification_channels_hospital_id"), ["hospital_id"], unique=False)
        batch.create_index(batch.f("ix_notification_channels_site_id"), ["site_id"], unique=False)

    op.create_table(
        "notification_site_settings",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("bed_wait_delay_seconds", sa.Integer(), nullable=False),
        sa.Column("bed_reminder_seconds", sa.Integer(), nullable=False),
        sa.Column("bed_reminders", sa.Integer(), nullable=False),
        sa.Column("updated_at", printfarm.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_notification_site_settings_site_id_sites")),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_notification_site_settings")),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="notificationkind", native_enum=False, length=20), nullable=False),
        sa.Column("state", sa.Enum(*STATES, name="notificationstate", native_enum=False, length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("due_at", printfarm.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", printfarm.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", printfarm.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", printfarm.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["notification_channels.id"],
                                name=op.f("fk_notifications_channel_id_notification_channels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", "channel_id", name="uq_notifications_key_channel"),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.create_index(batch.f("ix_notifications_channel_id"), ["channel_id"], unique=False)
        batch.create_index(batch.f("ix_notifications_job_id"), ["job_id"], unique=False)
        batch.create_index("ix_notifications_state_due", ["state", "due_at"], unique=False)


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("notification_site_settings")
    op.drop_table("notification_channels")

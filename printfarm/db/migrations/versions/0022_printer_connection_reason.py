"""printers.connection_reason and connection_changed_at: why a printer is online, offline or in fault, and since when

The connection column (a string) also takes the new value "fault" (printers/rules.py).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.add_column(sa.Column("connection_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("connection_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE printers SET connection = 'offline' WHERE connection = 'fault'")
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("connection_changed_at")
        batch.drop_column("connection_reason")

"""printers.kind: which client and feed drive the printer (OctoPrint is the first kind)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 20:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=32), nullable=False, server_default="octoprint"))


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("kind")

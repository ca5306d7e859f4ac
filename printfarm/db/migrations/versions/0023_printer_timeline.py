"""printer_timeline: what happened to each printer (connection, faults, plates, beds), paged per printer

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "printer_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["printer_id"], ["printers.id"], name=op.f("fk_printer_timeline_printer_id_printers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printer_timeline")),
    )
    op.create_index("ix_printer_timeline_printer_id_id", "printer_timeline", ["printer_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_printer_timeline_printer_id_id", table_name="printer_timeline")
    op.drop_table("printer_timeline")

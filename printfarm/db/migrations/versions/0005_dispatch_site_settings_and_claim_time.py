"""dispatch: per-site settings (allowed parts, working hours, heat-up stagger) and a claim-time index

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27 07:53:18.838514
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_jobs_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allowed_part_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('work_starts_at', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('work_ends_at', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
        batch_op.add_column(sa.Column('heatup_max_starts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('heatup_window_seconds', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('heatup_window_seconds')
        batch_op.drop_column('heatup_max_starts')
        batch_op.drop_column('timezone')
        batch_op.drop_column('work_ends_at')
        batch_op.drop_column('work_starts_at')
        batch_op.drop_column('allowed_part_ids')

    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_jobs_created_at'))

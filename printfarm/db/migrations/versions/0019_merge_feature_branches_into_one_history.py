"""merge the feature branches (0005, 0007, 0008 → 0018) into one history

Until here features hung their migrations off 0001 and `upgrade` went to "heads", which left the
order between branches undefined and made `alembic revision` refuse to run. From this revision on
the history is one line and `printfarm db upgrade` goes to "head". Nothing changes in the schema.

Revision ID: 0019
Revises: 0005, 0007, 0018
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

revision = "0019"
down_revision = ("0005", "0007", "0018")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

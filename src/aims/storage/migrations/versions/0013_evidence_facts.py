"""evidence facts: evidence facts kept as the audit log grows

Revision ID: 0013
Revises: 0012

Reserved in order so that the work on these tables can proceed side by side;
it changes nothing until its tables are added here.
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

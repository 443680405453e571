"""llm monitoring: monitoring windows of LLM applications

Revision ID: 0012
Revises: 0011

Reserved in order so that the work on these tables can proceed side by side;
it changes nothing until its tables are added here.
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

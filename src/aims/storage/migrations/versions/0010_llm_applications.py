"""llm applications: LLM application versions in the registry

Revision ID: 0010
Revises: 0009

Reserved in order so that the work on these tables can proceed side by side;
it changes nothing until its tables are added here.
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

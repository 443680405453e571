"""llm monitoring: monitoring windows of LLM applications

Revision ID: 0012
Revises: 0011

Changes nothing: windows of LLM application versions are stored in
``monitor_windows`` (role ``llm``) beside the tabular windows, and their
references are rebuilt from those rows, so they need no table of their own.
The revision stays so that the numbering of the revisions after it holds.
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

"""mcp gateway: the MCP gateway's servers, allow-lists, pins and waiting calls

Revision ID: 0011
Revises: 0010

Reserved in order so that the work on these tables can proceed side by side;
it changes nothing until its tables are added here.
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

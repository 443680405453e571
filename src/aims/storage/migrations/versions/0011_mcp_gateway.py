"""mcp gateway: the MCP gateway's servers, allow-lists, pins and waiting calls

Revision ID: 0011
Revises: 0010

The gateway between agents and the organisation's MCP servers keeps its
inventory of upstream servers (with where their credential lives, never the
secret), each agent's allow-list with argument constraints, the approved hash
of every upstream tool's definition (pins), and the calls to high-risk tools
that wait for a person's decision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_servers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("transport", sa.String(length=20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("credential", sa.Text(), nullable=True),
        sa.Column("project", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "gateway_allows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["server_id"], ["gateway_servers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent", "server_id", "tool"),
    )
    with op.batch_alter_table("gateway_allows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_allows_agent"), ["agent"], unique=False)
    op.create_table(
        "gateway_pins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=True),
        sa.Column("seen_sha256", sa.String(length=64), nullable=False),
        sa.Column("seen_definition", sa.JSON(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["server_id"], ["gateway_servers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("server_id", "tool"),
    )
    op.create_table(
        "gateway_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("server", sa.String(length=64), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gateway_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_calls_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gateway_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_calls_status"))
    op.drop_table("gateway_calls")
    op.drop_table("gateway_pins")
    with op.batch_alter_table("gateway_allows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_allows_agent"))
    op.drop_table("gateway_allows")
    op.drop_table("gateway_servers")

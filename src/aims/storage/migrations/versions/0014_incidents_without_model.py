"""incidents without model: incidents about a project's servers and agents

Revision ID: 0014
Revises: 0013

An incident had to name a model, so the gateway filed a changed tool (a rug
pull) or a burst of refused calls on whichever model came first in the
project, and nowhere when the project had none. An incident now names a
*subject*: ``subject_kind`` (``model``, ``mcp_server``, ``agent``, ...) and
``subject`` (its name), in a ``project``; ``model_id`` is set only for a
model's incidents. Existing incidents are about their model: they get
``subject_kind`` ``model``, the model's name and the model's project.

Downgrading removes the incidents that name no model (the older schema has no
place for them), after clearing the review findings and tool pins that cite them.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _recreate_keeping_findings(change: Callable[[], None]) -> None:
    """Run ``change`` (a batch alteration of ``incidents``) without losing findings' links.

    On SQLite the batch alteration copies ``incidents`` into a new table and
    drops the old one; with foreign keys on (aims turns them on, and a pragma
    cannot be changed inside the migration's transaction) dropping a table that
    review findings point at fails. The links are cleared for the copy and put
    back afterwards; PostgreSQL alters the table in place and needs none of it.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        change()
        return
    links = bind.execute(
        sa.text("SELECT id, incident_id FROM findings WHERE incident_id IS NOT NULL")
    ).all()
    op.execute("UPDATE findings SET incident_id = NULL WHERE incident_id IS NOT NULL")
    change()
    for finding, incident in links:
        bind.execute(
            sa.text("UPDATE findings SET incident_id = :i WHERE id = :f"),
            {"i": incident, "f": finding},
        )


def upgrade() -> None:
    with op.batch_alter_table("incidents", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("project", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("subject_kind", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE incidents SET subject_kind = 'model',"
        " subject = (SELECT models.name FROM models WHERE models.id = incidents.model_id),"
        " project = (SELECT models.project FROM models WHERE models.id = incidents.model_id)"
    )

    def change() -> None:
        with op.batch_alter_table("incidents") as batch_op:
            batch_op.alter_column("model_id", existing_type=sa.Integer(), nullable=True)
            batch_op.alter_column("project", existing_type=sa.String(length=100), nullable=False)
            batch_op.alter_column(
                "subject_kind", existing_type=sa.String(length=30), nullable=False
            )
            batch_op.alter_column("subject", existing_type=sa.String(length=200), nullable=False)
            batch_op.create_index(batch_op.f("ix_incidents_project"), ["project"], unique=False)

    _recreate_keeping_findings(change)


def downgrade() -> None:
    for table in ("findings", "gateway_pins"):
        op.execute(
            f"UPDATE {table} SET incident_id = NULL WHERE incident_id IN"
            " (SELECT id FROM incidents WHERE model_id IS NULL)"
        )
    op.execute("DELETE FROM incidents WHERE model_id IS NULL")

    def change() -> None:
        with op.batch_alter_table("incidents") as batch_op:
            batch_op.drop_index(batch_op.f("ix_incidents_project"))
            batch_op.alter_column("model_id", existing_type=sa.Integer(), nullable=False)
            batch_op.drop_column("subject")
            batch_op.drop_column("subject_kind")
            batch_op.drop_column("project")

    _recreate_keeping_findings(change)

"""keyed audit chain: the switch point, and governance rows tied to their audit events

Revision ID: 0004
Revises: 0003

Existing chains are not rewritten: the head row records that events after the
current head are keyed (``keyed_from``), while the ones before keep the plain
SHA-256 they were written with. Governance rows written by older releases are
tied to the audit event their transaction recorded, found by action, subject,
actor and time; a row with no such event stays untied, so the gates stop
counting it and ``aims audit verify`` reports it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ANCHORED = ("approvals", "risk_assessments", "stage_transitions", "evaluations")
STAGE_ACTIONS = ("model.promote", "model.promote.override", "model.rollback")


def upgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keyed_from", sa.Integer(), server_default="1", nullable=False)
        )
    for table in ANCHORED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("audit_seq", sa.Integer(), nullable=True))
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE audit_head SET keyed_from = seq + 1"))
    _tie_existing_rows(conn)


def downgrade() -> None:
    for table in ANCHORED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("audit_seq")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("keyed_from")


def _aware(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tie_existing_rows(conn: sa.Connection) -> None:
    events = [
        {
            "seq": r.seq,
            "ts": _aware(r.ts),
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject,
            "payload": json.loads(r.payload),
        }
        for r in conn.execute(
            sa.text(
                "SELECT seq, ts, actor, action, subject, payload FROM audit_events ORDER BY seq"
            )
        )
    ]
    if not events:
        return
    names = {
        r.id: (r.name, r.version)
        for r in conn.execute(
            sa.text(
                "SELECT v.id, m.name, v.version FROM model_versions v "
                "JOIN models m ON m.id = v.model_id"
            )
        )
    }
    models = {r.id: r.name for r in conn.execute(sa.text("SELECT id, name FROM models"))}
    used: set[int] = set()

    def first(
        since: object, actions: tuple[str, ...], subject: str, actor: str, **payload
    ) -> int | None:
        """The earliest event at or after ``since`` that records this row."""
        after = _aware(since)
        shared = actions == STAGE_ACTIONS  # one promotion event covers the version it archives
        for ev in events:
            if (
                ev["ts"] >= after
                and (shared or ev["seq"] not in used)
                and ev["action"] in actions
                and ev["actor"] == actor
                and (ev["subject"] == subject or ev["subject"].startswith(subject + "@"))
                and all(ev["payload"].get(k) == v for k, v in payload.items())
            ):
                if not shared:
                    used.add(ev["seq"])
                return ev["seq"]
        return None

    def tie(table: str, row_id: int, seq: int | None) -> None:
        # Table names come from ANCHORED above, never from data.
        if seq is not None:
            conn.execute(
                sa.text(f"UPDATE {table} SET audit_seq = :seq WHERE id = :id"),
                {"seq": seq, "id": row_id},
            )

    for r in conn.execute(
        sa.text("SELECT id, model_version_id, actor, created_at FROM approvals ORDER BY id")
    ).all():
        name, version = names[r.model_version_id]
        seq = first(r.created_at, ("model.approve",), f"model:{name}@{version}", r.actor)
        tie("approvals", r.id, seq)
    for r in conn.execute(
        sa.text(
            "SELECT id, model_id, version, created_by, created_at FROM risk_assessments ORDER BY id"
        )
    ).all():
        subject = f"model:{models[r.model_id]}"
        seq = first(r.created_at, ("risk.assess",), subject, r.created_by, version=r.version)
        tie("risk_assessments", r.id, seq)
    for r in conn.execute(
        sa.text(
            "SELECT id, model_version_id, data_hash, created_by, created_at "
            "FROM evaluations ORDER BY id"
        )
    ).all():
        name, version = names[r.model_version_id]
        subject = f"model:{name}@{version}"
        seq = first(r.created_at, ("model.evaluate",), subject, r.created_by, data_hash=r.data_hash)
        tie("evaluations", r.id, seq)
    for r in conn.execute(
        sa.text("SELECT id, model_version_id, actor, at FROM stage_transitions ORDER BY id")
    ).all():
        name, _ = names[r.model_version_id]
        tie("stage_transitions", r.id, first(r.at, STAGE_ACTIONS, f"model:{name}", r.actor))

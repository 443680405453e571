"""Migration 0014: incidents name a subject, and may name no model.

A store at 0013 holding a model's incident, cited by a review finding, is
upgraded; the incident becomes the model's (subject, project backfilled) and
the finding keeps its link. Downgrading again drops the incidents that name no
model and keeps the rest. Both on SQLite (batch mode, foreign keys on) and on
a real PostgreSQL server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

from aims.storage.db import MIGRATIONS, create_store_engine

T = "2026-01-01T00:00:00+00:00"


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO models (id, name, project, created_by, created_at)"
                " VALUES (7, 'churn', 'retail', 'ana', :t)"
            ),
            {"t": T},
        )
        conn.execute(
            text(
                "INSERT INTO incidents (id, dedupe_key, model_id, version, trigger, kind,"
                " severity, status, owner, summary, evidence, actions, opened_at)"
                " VALUES (3, 'k3', 7, 1, 'drift', 'drift', 'high', 'open', 'ana', 's',"
                " '{}', '[]', :t)"
            ),
            {"t": T},
        )
        conn.execute(
            text(
                "INSERT INTO management_reviews (id, kind, project, title, held_on, summary,"
                " created_by, created_at) VALUES (1, 'review', 'retail', 'q1', '2026-01-01',"
                " '', 'ana', :t)"
            ),
            {"t": T},
        )
        conn.execute(
            text(
                "INSERT INTO findings (id, review_id, kind, summary, owner, due,"
                " corrective_action, incident_id, status, created_by, created_at)"
                " VALUES (1, 1, 'nonconformity', 'f', 'ana', '2026-02-01', '', 3, 'open',"
                " 'ana', :t)"
            ),
            {"t": T},
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_incidents_get_a_subject_and_may_name_no_model(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'm.db'}"
    )
    engine = create_store_engine(url)
    try:
        _migrate(engine, "0013")
        _seed(engine)
        _migrate(engine, "0014")
        with engine.begin() as conn:
            row = conn.execute(
                text("SELECT model_id, project, subject_kind, subject FROM incidents")
            ).one()
            assert tuple(row) == (7, "retail", "model", "churn")
            assert conn.execute(text("SELECT incident_id FROM findings")).scalar() == 3
            conn.execute(
                text(
                    "INSERT INTO incidents (id, dedupe_key, model_id, project, subject_kind,"
                    " subject, trigger, kind, severity, status, owner, summary, evidence,"
                    " actions, opened_at) VALUES (4, 'k4', NULL, 'retail', 'mcp_server',"
                    " 'files', 'tool_definition_changed', 'security', 'high', 'open', 'bo',"
                    " 's', '{}', '[]', :t)"
                ),
                {"t": T},
            )
            conn.execute(text("UPDATE findings SET incident_id = 4"))
        _migrate(engine, "0013", down=True)
        with engine.begin() as conn:
            assert [r[0] for r in conn.execute(text("SELECT id FROM incidents"))] == [3]
            assert conn.execute(text("SELECT incident_id FROM findings")).scalar() is None
        _migrate(engine, "head")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT subject FROM incidents")).scalar() == "churn"
    finally:
        engine.dispose()

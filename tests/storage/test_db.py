from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from aims.errors import ConfigError, StoreUnavailable
from aims.storage.db import Database
from aims.storage.schema import Base


def test_new_sqlite_store_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'a.db'}")
    assert {"audit_events", "models", "model_versions", "alembic_version"} <= set(db.tables())
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_match_the_declared_schema(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'b.db'}"
    )
    db = Database.connect(url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []


def test_reopening_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    Database.connect(url).dispose()
    db = Database.connect(url)
    with db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar() == 1
    db.dispose()


def test_url_that_does_not_parse_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="does not parse"):
        Database.connect("not a url")


def test_unreachable_server_is_reported_clearly() -> None:
    with pytest.raises(StoreUnavailable, match="cannot connect to database"):
        Database.connect("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_missing_sqlite_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="does not exist"):
        Database.connect(f"sqlite:///{tmp_path / 'nope' / 'x.db'}")

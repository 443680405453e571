"""The metadata store: engine set-up, sessions, automatic migrations.

SQLite (the default) runs in WAL mode with foreign keys on and ``BEGIN
IMMEDIATE`` transactions, so writers queue instead of failing halfway; any
other SQLAlchemy URL (PostgreSQL in production) is used as is.

``BEGIN IMMEDIATE`` takes SQLite's single write lock for the whole
transaction, reads included. Code that only reads (a dashboard page, the
evidence report's gathering) runs inside :meth:`Database.reading`, whose
transactions begin deferred: in WAL mode they read a snapshot without
taking the lock, so a long report no longer makes every other request wait.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from aims.errors import ConfigError, StoreUnavailable
from aims.storage.private import private_file

__all__ = ["MIGRATIONS", "Database", "create_store_engine"]

MIGRATIONS = Path(__file__).parent / "migrations"

#: Set inside :meth:`Database.reading`: SQLite transactions begun there are deferred.
_READING: ContextVar[bool] = ContextVar("aims_db_reading", default=False)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's own BEGIN (below) take over transaction control.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: two writers never deadlock on a
    # read-to-write lock upgrade, they wait (busy_timeout) and run in turn.
    # Declared readers begin deferred: a WAL snapshot, no lock, nobody waits.
    conn.exec_driver_sql("BEGIN" if _READING.get() else "BEGIN IMMEDIATE")


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def create_store_engine(url: str) -> Engine:
    """An engine for ``url`` with aims' connection settings."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"database URL {url!r} does not parse; use e.g. sqlite:///path/aims.db or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).parent
                if not folder.exists():
                    raise StoreUnavailable(
                        f"database {_redact(url)}: folder {folder} does not exist; "
                        "check AIMS_DATABASE_URL / store.database_url"
                    )
                # Created 0600 before SQLite opens it; SQLite gives its -wal and
                # -shm files the database file's mode.
                private_file(Path(parsed.database))
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"database URL {_redact(url)}: no driver for {parsed.drivername!r} ({exc}); "
            "for PostgreSQL install the extra: pip install 'aims[postgres]'"
        ) from None


class Database:
    """A connected, migrated metadata store."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        # Where secrets kept outside the database live (the audit key); the
        # workspace sets it. Sessions carry the store so code given only a
        # session (the audit log's writer) can reach it.
        self.state_dir: Path | None = None
        self._sessions = sessionmaker(engine, expire_on_commit=False, info={"database": self})

    @classmethod
    def connect(cls, url: str, migrate: bool = True) -> Database:
        """Connect to ``url`` and bring its schema to the newest migration."""
        engine = create_store_engine(url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreUnavailable(
                f"cannot connect to database {_redact(url)}: {reason}; "
                "check AIMS_DATABASE_URL / store.database_url and that the server is running"
            ) from None
        db = cls(engine, url)
        if migrate:
            db.migrate()
        return db

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Apply pending Alembic migrations (a no-op when up to date)."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        script = ScriptDirectory.from_config(cfg)
        with self.engine.begin() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
            if set(current) == set(script.get_heads()):
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def tables(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the block as a reader: its SQLite transactions do not take the write lock.

        For code that only reads (in this thread). A write inside the block
        still works but may fail with "database is locked" when another writer
        committed since the block's snapshot; writers belong outside it.
        PostgreSQL's transactions never lock readers out, and are unchanged.
        """
        token = _READING.set(True)
        try:
            yield
        finally:
            _READING.reset(token)

    def dispose(self) -> None:
        self.engine.dispose()

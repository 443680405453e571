"""SQLite readers declared with ``Database.reading`` neither take nor wait for the write lock."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from aims.storage.db import Database
from aims.storage.schema import AuditHead


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = Database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    with db.session() as s:
        s.add(AuditHead(id=1, seq=7, hash="0" * 64))
    yield db
    db.dispose()


def _locked_out(db: Database) -> bool:
    """Whether another connection holds the write lock (asked without waiting for it)."""
    conn = sqlite3.connect(str(db.engine.url.database), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()
    return False


def test_a_reader_reads_while_a_writer_holds_the_lock(db: Database) -> None:
    writer_in = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with db.session() as s:  # BEGIN IMMEDIATE: the write lock, until the block ends
            s.execute(select(AuditHead.seq)).all()
            writer_in.set()
            release.wait(timeout=60)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert writer_in.wait(timeout=60)
        assert _locked_out(db)  # the lock is really held
        with db.reading(), db.session() as s:
            assert s.scalar(select(AuditHead.seq)) == 7
    finally:
        release.set()
        t.join(timeout=60)


def test_a_reader_does_not_hold_the_lock_for_writers(db: Database) -> None:
    with db.reading(), db.session() as s:
        assert s.scalar(select(AuditHead.seq)) == 7
        # A writer gets the lock at once while the reader's transaction is open.
        assert not _locked_out(db)
    # Outside the block, sessions take the write lock up front again.
    with db.session() as s:
        s.execute(select(AuditHead.seq)).all()
        assert _locked_out(db)

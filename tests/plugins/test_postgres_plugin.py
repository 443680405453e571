from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.plugins.postgres import PostgresServer, find_bindir, summary_line

REPO = Path(__file__).resolve().parents[2]
_SEEN_DATABASES: set[str] = set()


# Both cases run on one worker (--dist loadfile keeps a module together), so the second
# sees the database name the first got.
@pytest.mark.parametrize("case", ["first", "second"])
def test_each_test_gets_its_own_empty_database(
    case: str, postgres_url: str, request: pytest.FixtureRequest
) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            name = conn.execute(sa.text("select current_database()")).scalar_one()
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("create table t (id integer primary key, label text not null)"))
            conn.execute(
                sa.text("insert into t values (:i, :l)"), [{"i": 1, "l": case}, {"i": 2, "l": "é"}]
            )
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select id, label from t order by id")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(1, case), (2, "é")]
    assert postgres_url.endswith(f"/{name}")
    assert name not in _SEEN_DATABASES
    _SEEN_DATABASES.add(name)
    assert request.node.get_closest_marker("postgres") is not None


def test_server_is_a_real_postgresql_on_loopback(postgres_server: PostgresServer) -> None:
    assert postgres_server.host == "127.0.0.1"
    assert re.fullmatch(r"PostgreSQL \d+\.\d+", postgres_server.version)
    engine = sa.create_engine(postgres_server.url())
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("show server_version_num")).scalar_one()
            fsync = conn.execute(sa.text("show fsync")).scalar_one()
    finally:
        engine.dispose()
    assert int(version) >= 120000
    assert fsync == "off"


def test_databases_of_finished_tests_are_dropped(postgres_server: PostgresServer) -> None:
    # Runs after the two cases above (same worker, file order).
    engine = sa.create_engine(postgres_server.url())
    try:
        with engine.connect() as conn:
            names = set(conn.execute(sa.text("select datname from pg_database")).scalars())
    finally:
        engine.dispose()
    assert "postgres" in names
    assert not names & _SEEN_DATABASES


def test_summary_line_names_counts_and_failure() -> None:
    state = {"version": "PostgreSQL 15.18", "host": "127.0.0.1", "port": 5999}
    line = summary_line({"passed": 2}, {**state, "start_seconds": 1.5, "install_seconds": 40.0})
    assert line == (
        "PostgreSQL: 2 tests ran against a real server "
        "(PostgreSQL 15.18 on 127.0.0.1:5999, installed in 40.0 s, started in 1.5 s): 2 passed"
    )
    failed = summary_line({"error": 3}, {"error": "apt-get install postgresql failed: E: no"})
    assert failed.startswith(
        "PostgreSQL: 0 tests ran; 3 failed because the server could not be started: apt-get"
    )


def test_binaries_are_found(postgres_server: PostgresServer) -> None:
    bindir = find_bindir()
    assert bindir is not None
    assert (bindir / "initdb").is_file()


INNER_TESTS = """
import os


def _record(server, url):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.environ["RECORD"], "a") as fh:
        fh.write(f"{worker} {server.port} {url}\\n")


def test_a(postgres_server, postgres_url):
    _record(postgres_server, postgres_url)


def test_b(postgres_server, postgres_url):
    _record(postgres_server, postgres_url)


def test_c(postgres_server, postgres_url):
    _record(postgres_server, postgres_url)


def test_d(postgres_server, postgres_url):
    _record(postgres_server, postgres_url)


def test_without_database():
    pass
"""


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_one_server_per_run_shared_by_workers_and_stopped_after(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    record = tmp_path / "record.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RECORD": str(record)}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_XDIST_WORKER_COUNT", None)
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "tests.plugins.postgres"),
            *("-p", "no:cacheprovider", "--basetemp", str(tmp_path / "base"), "test_inner.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    line = re.search(
        r"PostgreSQL: (\d+) tests ran against a real server \(.* on [\d.]+:(\d+)", run.stdout
    )
    assert line, run.stdout
    assert int(line.group(1)) == 4
    rows = [r.split() for r in record.read_text().splitlines()]
    assert {r[0] for r in rows} == {"gw0", "gw1"}
    assert {r[1] for r in rows} == {line.group(2)}
    assert len({r[2] for r in rows}) == 4
    port = int(line.group(2))
    deadline = time.monotonic() + 10
    while _port_open(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _port_open(port)
    assert not (tmp_path / "base" / "postgres-server.json").exists()

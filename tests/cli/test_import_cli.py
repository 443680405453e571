"""``aims import mlflow`` and ``aims promotion-requests`` when the source is wrong: one line, exit 1, store untouched.

The imports from a real MLflow server are in tests/services/test_mlflow_import.py.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli.in_process import run
from tests.services.mlflow_server import free_port


# One workspace for the module: its tests run on one worker (make test: --dist loadfile).
@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Every test leaves it unchanged, and checks that.
    folder = tmp_path_factory.mktemp("import")
    assert run(["init", str(folder / "ws")], folder).returncode == 0
    return folder / "ws"


class _Failing(BaseHTTPRequestHandler):
    """A tracking server in trouble: every request answers 500 with MLflow's error body."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"error_code": "INTERNAL_ERROR", "message": "database is locked"}
        ).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def failing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _state(root: Path) -> tuple[list, list, list]:
    """The audit log, the models and the promotion requests, read in this process."""
    from aims.services.audit import query
    from aims.services.promotion_requests import list_requests
    from aims.services.registry import list_models
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    try:
        return query(ws.db), list_models(ws), list_requests(ws)
    finally:
        ws.close()


def _refused(root: Path, args: list[str], *needles: str) -> str:
    before = _state(root)
    out = run(args, root)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert _state(root) == before
    return lines[0]


def test_a_uri_aims_cannot_read_is_one_line(root: Path, tmp_path: Path) -> None:
    _refused(
        root,
        ["import", "mlflow", "--tracking-uri", "ftp://example.org/mlruns"],
        "is not a place aims imports from",
        "http://HOST:PORT",
    )
    _refused(
        root,
        ["import", "mlflow", "-u", str(tmp_path / "nowhere")],
        "no such file or folder",
    )


def test_a_server_that_is_not_there_is_one_line(root: Path) -> None:
    _refused(
        root,
        ["import", "mlflow", "-u", f"http://127.0.0.1:{free_port()}"],
        "cannot reach MLflow",
        "nothing was imported",
    )


def test_a_server_answering_500_is_one_line(root: Path, failing_server: str) -> None:
    line = _refused(
        root, ["import", "mlflow", "-u", failing_server], "answered 500", "database is locked"
    )
    assert "nothing was imported" in line


def test_a_database_that_is_not_mlflows_is_one_line(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table things (id integer)")
    _refused(
        root,
        ["import", "mlflow", "-u", f"sqlite:///{other}"],
        "is not an MLflow tracking database",
    )
    # The file was opened read-only: still one table, untouched.
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("select name from sqlite_master")] == ["things"]


def test_since_that_does_not_parse_is_one_line(root: Path, tmp_path: Path) -> None:
    _refused(
        root,
        ["import", "mlflow", "-u", str(tmp_path), "--since", "last tuesday"],
        "--since 'last tuesday' does not parse",
    )


def test_deciding_needs_one_decision_and_an_existing_request(root: Path) -> None:
    _refused(root, ["promotion-requests", "decide", "1"], "choose one of --approve and --refuse")
    _refused(
        root,
        ["promotion-requests", "decide", "7", "--refuse"],
        "promotion request 7 does not exist",
    )
    _refused(
        root,
        ["promotion-requests", "list", "--status", "pending"],
        "status 'pending' is unknown",
    )


def test_importing_and_deciding_are_store_writes_guarded_in_team_mode(root: Path) -> None:
    for command in (["import", "mlflow"], ["promotion-requests", "decide"]):
        out = run([*command, "--help"], root)
        assert out.returncode == 0 and "--break-glass" in out.stdout, out.stdout

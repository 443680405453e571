"""The foundation commands, run as a user would: a real ``aims`` process per call."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import use_open_policy

AIMS = [sys.executable, "-m", "aims"]


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "AIMS_USER": "ana@x.org", **(env or {})}
    return subprocess.run(
        [*AIMS, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, cancer_files) -> Path:
    # One workspace for the module: every test either leaves it unchanged
    # (and checks that) or only adds a model of its own name.
    tmp_path = tmp_path_factory.mktemp("cli")
    root = tmp_path / "ws"
    assert run(["init", str(root)], tmp_path).returncode == 0
    use_open_policy(root)
    out = run(["dataset", "register", str(cancer_files["data"]), "--name", "cancer"], root)
    assert out.returncode == 0, out.stderr
    return root


def _events(root: Path) -> int:
    # Read from the store itself, read-only: counting through 'aims audit log' cost
    # two extra processes per refusal test and proved no more.
    uri = f"file:{root / '.aims' / 'aims.db'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
        return con.execute("select count(*) from audit_events").fetchone()[0]


def test_register_promote_rollback_verify(ws: Path, cancer_files) -> None:
    owners = ["--owner", "deployment=d@x.org", "--owner", "monitoring=m@x.org"]
    for key in ("model", "model2"):
        out = run(
            [
                "model",
                "register",
                str(cancer_files[key]),
                "-n",
                "c",
                "-d",
                "cancer@1",
                *owners,
                "--format",
                "json",
            ],
            ws,
        )
        assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["version"] == 2
    assert run(["promote", "c@1", "--stage", "production"], ws).returncode == 0
    assert run(["promote", "c@2", "--stage", "production"], ws).returncode == 0
    out = run(["rollback", "c", "--format", "json"], ws)
    assert out.returncode == 0 and json.loads(out.stdout)["version"] == 1
    shown = json.loads(run(["model", "show", "c", "--format", "json"], ws).stdout)
    assert [v["stage"] for v in shown["versions"]] == ["production", "archived"]
    lineage = json.loads(run(["lineage", "c@2", "--format", "json"], ws).stdout)
    assert lineage["made_from"][0]["ref"] == "cancer@1"
    verify = run(["audit", "verify", "--format", "json"], ws)
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dataset", "register", "/no/such.csv", "--name", "x"], "no such file"),
        (["model", "register", "/no/such.skops", "-n", "m", "-d", "cancer@1"], "no such file"),
        (["model", "show", "ghost@1"], "not registered"),
        (["model", "show", "cancer@1"], "not registered"),
        (["promote", "cancer@x1", "--stage", "production"], "does not parse"),
        (["rollback", "ghost"], "not registered"),
        (["lineage", "cancer@9"], "no version 9"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_changes_nothing(ws: Path, args, message) -> None:
    before = _events(ws)
    out = run(args, ws)
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr
    assert _events(ws) == before


def test_non_model_file_is_refused(ws: Path, tmp_path: Path) -> None:
    fake = tmp_path / "notes.skops"
    fake.write_text("this is not a model\n")
    before = _events(ws)
    out = run(["model", "register", str(fake), "-n", "m", "-d", "cancer@1"], ws)
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    assert _events(ws) == before


def test_workspace_that_does_not_exist(tmp_path: Path) -> None:
    out = run(["--workspace", str(tmp_path / "nowhere"), "model", "list"], tmp_path)
    assert out.returncode == 1 and "aims init" in out.stderr


def test_database_that_cannot_connect(ws: Path) -> None:
    out = run(["model", "list"], ws, env={"AIMS_DATABASE_URL": "postgresql://u@127.0.0.1:1/db"})
    assert out.returncode == 1 and "cannot connect to database" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_brackets_in_messages_are_printed_as_written(ws: Path, tmp_path: Path) -> None:
    # An install hint names an extra in brackets; the terminal renderer must not eat it.
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    out = run(
        ["dataset", "register", str(data), "--name", "s3data"],
        ws,
        # gcsfs is not installed (s3fs is, for the S3 tests): the hint names the extra
        env={"AIMS_ARTIFACT_URL": "gs://bucket/aims"},
    )
    assert out.returncode == 1
    assert "install 'aims[s3]'" in out.stderr, out.stderr


def test_usage_error_exits_2(ws: Path) -> None:
    assert run(["promote"], ws).returncode == 2


def test_debug_shows_traceback(ws: Path) -> None:
    out = run(["--debug", "model", "show", "ghost@1"], ws)
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_failed_verification_exits_1(ws: Path) -> None:
    db = ws / ".aims" / "aims.db"
    con = sqlite3.connect(db)
    con.execute("update audit_events set actor = 'mallory' where seq = 1")
    con.commit()
    con.close()
    try:
        out = run(["audit", "verify"], ws)
        # Alone in the module, event 1 is the head, and an edited head reads as forged.
        assert out.returncode == 1 and "BROKEN" in out.stdout and "event #1" in out.stdout
        assert "edited" in out.stdout or "forged" in out.stdout
    finally:
        con = sqlite3.connect(db)
        con.execute("update audit_events set actor = 'ana@x.org' where seq = 1")
        con.commit()
        con.close()


def test_an_in_process_run_leaves_no_global_options_behind(ws: Path) -> None:
    # A later run in the same process (a notebook, another test) must not
    # inherit --workspace: it once made a report read the wrong workspace.
    from aims.cli import _state
    from aims.cli.main import main

    main(["--workspace", str(ws), "--debug", "audit", "verify", "--format", "json"])
    assert _state.STATE.workspace is None and _state.STATE.debug is False

"""The first hour from the command line: init, help, keys, usage errors, approvals by role.

Commands run the CLI's entry point on a real workspace in this process
(:mod:`tests.cli.in_process`), with the same output and exit codes as an
``aims`` process; ``aims --version`` and the terminal checks use real processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.cli.in_process import run_in_process

AIMS = [sys.executable, "-m", "aims"]


def run(args: list[str], cwd: Path, user: str = "ana@example.org", **env: str):
    return run_in_process(args, cwd, {"AIMS_USER": user, "COLUMNS": "80", **env})


def test_init_writes_a_commented_starter_and_prints_next_steps(tmp_path: Path) -> None:
    out = run(["init", "ml", "--policy", "minimal"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "policy: minimal" in out.stdout and "next steps:" in out.stdout
    assert "AIMS_USER=raj@example.org aims approve" in out.stdout

    text = (tmp_path / "ml" / "aims.yaml").read_text()
    assert "# Who holds which role." in text and "AIMS_USER=raj@example.org" in text
    config = yaml.safe_load(text)
    assert config["policy"]["default_tier"] == "minimal"
    assert config["people"]["raj@example.org"] == ["approver"]
    # The workspace opens with it: settings and policy validate.
    gates = run(["model", "list", "--format", "json"], tmp_path / "ml")
    assert gates.returncode == 0 and json.loads(gates.stdout) == []


def test_strict_is_the_default_and_keeps_the_default_policy(tmp_path: Path) -> None:
    from aims.core.policy import DEFAULT_POLICY

    assert run(["init", "ws", "--format", "json"], tmp_path).returncode == 0
    config = yaml.safe_load((tmp_path / "ws" / "aims.yaml").read_text())
    assert config["policy"] == DEFAULT_POLICY


def test_an_unknown_policy_preset_is_a_usage_error_and_creates_nothing(tmp_path: Path) -> None:
    out = run(["init", "ws", "--policy", "lenient"], tmp_path)
    assert out.returncode == 2
    assert "'minimal', 'standard', 'strict'" in out.stderr
    assert not (tmp_path / "ws").exists()


def test_version_and_help_read_as_written(tmp_path: Path) -> None:
    from aims import __version__

    # A real process: the console entry point itself answers.
    out = subprocess.run(
        [*AIMS, "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert (out.returncode, out.stdout.strip()) == (0, f"aims {__version__}")
    help_text = run(["evaluate", "--help"], tmp_path, COLUMNS="200").stdout
    assert "pip install 'aims[explain]'" in help_text
    assert "Usage: aims evaluate [OPTIONS] REF" in help_text
    assert "{ref}" not in help_text and "<bool>" not in help_text
    init_help = run(["init", "--help"], tmp_path, COLUMNS="200").stdout
    assert "[OPTIONS] [FOLDER]" in init_help


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    assert run(["init", "ws", "--project", "credit"], tmp_path).returncode == 0
    return tmp_path / "ws"


def test_keys_take_the_workspace_project_and_expire_by_default(ws: Path) -> None:
    out = run(["keys", "create", "--role", "predictor", "--format", "json"], ws)
    assert out.returncode == 0, out.stderr
    key = json.loads(out.stdout)
    assert key["project"] == "credit"
    expires = datetime.fromisoformat(key["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)

    never = json.loads(
        run(["keys", "create", "--role", "viewer", "--expires", "never", "-f", "json"], ws).stdout
    )
    assert never["expires_at"] is None

    config = yaml.safe_load((ws / "aims.yaml").read_text())
    config["server"] = {"key_expiry_days": 7}
    (ws / "aims.yaml").write_text(yaml.safe_dump(config))
    week = json.loads(run(["keys", "create", "--role", "viewer", "-f", "json"], ws).stdout)
    left = datetime.fromisoformat(week["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)

    bad = run(["keys", "create", "--role", "viewer", "--expires", "soon"], ws)
    assert bad.returncode == 1 and "or never" in bad.stderr


def test_usage_errors_and_unknown_models(ws: Path) -> None:
    stage = run(["promote", "x@1", "--stage", "prod"], ws)
    assert stage.returncode == 2 and "'staging', 'production'" in stage.stderr
    query = run(["log", "query", "nosuch"], ws)
    assert query.returncode == 1
    assert "model 'nosuch' is not registered" in query.stderr


def test_tables_never_cut_identifiers_on_a_narrow_terminal(tmp_path: Path) -> None:
    ident = "9f2c4e61a0b84d7fb1c3e5a7d9f1b3c5-0123456789abcdef"
    code = (
        "from aims.cli._output import print_table; "
        f"print_table([{{'ts': '2026-12-04T15:11:26.901630+00:00', 'prediction_id': '{ident}', "
        "'note': 'a longer remark that may wrap onto a second line'}], "
        "['ts', 'prediction_id', 'note'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert ident in out.stdout and "2026-12-04T15:11:26.901630+00:00" in out.stdout


def test_an_approval_given_before_holding_the_role_is_explained_and_can_be_renewed(
    ws: Path, cancer_files
) -> None:
    root = ws
    assert (
        run(["dataset", "register", str(cancer_files["data"]), "-n", "cancer"], root).returncode
        == 0
    )
    reg = run(["model", "register", str(cancer_files["model"]), "-n", "c", "-d", "cancer@1"], root)
    assert reg.returncode == 0, reg.stderr
    # bob approves before anyone gave him the approver role.
    assert run(["approve", "c@1"], root, user="bob@example.org").returncode == 0
    rules = json.loads(run(["gates", "c@1", "--format", "json"], root).stdout)["rules"]
    role = next(r for r in rules if r["rule"] == "approvals.role.approver")
    assert not role["passed"]
    assert (
        "approval by bob@example.org does not count: bob@example.org did not hold role "
        "approver when approving" in role["message"]
    )

    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["people"]["bob@example.org"] = ["approver"]
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    again = run(["approve", "c@1", "--format", "json"], root, user="bob@example.org")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["roles"] == ["approver"]
    rules = json.loads(run(["gates", "c@1", "--format", "json"], root).stdout)["rules"]
    assert next(r for r in rules if r["rule"] == "approvals.role.approver")["passed"]
    # A third approval with nothing new is refused as before.
    same = run(["approve", "c@1"], root, user="bob@example.org")
    assert same.returncode == 1 and "already approved" in same.stderr


def test_long_steps_show_a_spinner_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    code = (
        "import time; from aims.cli._output import working\n"
        "with working('evaluating c@1 on holdout.parquet'):\n"
        "    time.sleep(0.3)\n"
    )
    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-c", code],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "100"},
        timeout=60,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert b"evaluating c@1 on holdout.parquet" in seen
    piped = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert piped.stdout == "" and piped.stderr == ""

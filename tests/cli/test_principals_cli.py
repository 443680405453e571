"""Principals, grants, keys and team mode from the command line, as a user runs them.

Commands run the CLI's entry point in this process (:mod:`tests.cli.in_process`):
the same output and exit codes as an ``aims`` process, without a new
interpreter and its imports per call.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.in_process import run_in_process


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    return run_in_process(args, cwd, {"AIMS_USER": "ana@x.org", **(env or {})})


ANA = {"AIMS_USER": "ana@x.org"}


def events(root: Path) -> list[dict]:
    """The audit log, read in this process (quicker than one more 'aims' process)."""
    from aims.services import audit
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    try:
        return audit.query(ws.db)
    finally:
        ws.close()


@pytest.fixture(scope="module")
def team_ws(tmp_path_factory: pytest.TempPathFactory, cancer_files) -> Path:
    """A workspace used in local mode (a dataset and a model by ana, a key), then
    moved to team mode with 'aims team enable'."""
    tmp = tmp_path_factory.mktemp("team")
    root = tmp / "ws"
    assert run(["init", str(root), "--policy", "minimal"], tmp).returncode == 0
    assert "identity: local" in (root / "aims.yaml").read_text()
    steps = [
        ["dataset", "register", str(cancer_files["data"]), "-n", "cancer"],
        ["model", "register", str(cancer_files["model"]), "-n", "c", "-d", "cancer@1"],
        ["keys", "create", "--role", "predictor", "--expires", "never"],
    ]
    for step in steps:
        out = run(step, root, ANA)
        assert out.returncode == 0, out.stderr
    out = run(["approve", "c@1"], root, {"AIMS_USER": "bo@x.org"})
    assert out.returncode == 0, out.stderr
    enabled = run(["team", "enable", "--format", "json"], root, {"AIMS_USER": "root@x.org"})
    assert enabled.returncode == 0, enabled.stderr
    data = json.loads(enabled.stdout)
    assert "ana@x.org" in data["principals"] and len(data["keys"]) == 1
    assert data["admin"] == "root@x.org"
    config = yaml.safe_load((root / "aims.yaml").read_text())
    assert config["identity"] == "team"
    return root


def test_team_enable_keeps_the_audit_chain_intact(team_ws: Path) -> None:
    verify = run(["audit", "verify"], team_ws)
    assert verify.returncode == 0, verify.stderr
    assert "intact" in verify.stdout
    listed = run(["principals", "list", "--format", "json"], team_ws)
    by_name = {p["name"]: p for p in json.loads(listed.stdout)}
    key_principal = next(n for n in by_name if n.startswith("apikey:"))
    assert by_name[key_principal]["kind"] == "service"
    assert by_name[key_principal]["owner"] == "ana@x.org"
    assert by_name["root@x.org"]["grants"] == {"*": "admin"}


@pytest.mark.parametrize(
    "command",
    [
        ["approve", "c@1"],
        ["model", "register", "MODEL", "-n", "c", "-d", "cancer@1"],
        ["promote", "c@1", "--stage", "staging"],
        ["rollback", "c"],
        ["grant", "someone", "--role", "admin", "--project", "*"],
        ["principals", "add", "someone", "--kind", "human"],
        ["keys", "create", "--role", "admin", "--project", "*"],
        ["keys", "revoke", "k0123456789ab"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_in_team_mode_aims_user_changes_nothing(team_ws: Path, cancer_files, command) -> None:
    before = events(team_ws)
    args = [str(cancer_files["model"]) if a == "MODEL" else a for a in command]
    out = run(args, team_ws, {"AIMS_USER": "someone"})
    assert out.returncode == 1
    assert "team mode" in out.stderr and "--break-glass --reason" in out.stderr
    assert events(team_ws) == before


def test_break_glass_is_audited_and_shown_in_the_evidence_report(team_ws: Path) -> None:
    before = len(events(team_ws))
    no_reason = run(["principals", "add", "cy@x.org", "--kind", "human", "--break-glass"], team_ws)
    assert no_reason.returncode == 1 and "needs --reason" in no_reason.stderr
    assert len(events(team_ws)) == before
    forced = run(
        [
            "principals",
            "add",
            "cy@x.org",
            "--kind",
            "human",
            "--break-glass",
            "--reason",
            "server down, auditor waiting",
        ],
        team_ws,
        {"AIMS_USER": "root@x.org"},
    )
    assert forced.returncode == 0, forced.stderr
    added = events(team_ws)[-1]
    assert added["action"] == "principal.add" and added["actor"] == "root@x.org"
    assert added["payload"]["break_glass"] is True
    assert added["payload"]["break_glass_reason"] == "server down, auditor waiting"
    report = run(["report", "compliance", "--format", "json"], team_ws)
    text = report.stdout
    assert "break-glass: principal.add by root@x.org (reason: server down, auditor waiting)" in text
    assert run(["audit", "verify"], team_ws).returncode == 0


def aims(args: list[str], root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``aims`` in this process through its entry point: (exit code, stdout, stderr)."""
    from aims.cli.main import main

    capsys.readouterr()
    try:
        main(["--workspace", str(root), *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_keys_never_exceed_the_principals_grant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aims.workspace import init_workspace

    root = init_workspace(tmp_path / "ws")
    monkeypatch.setenv("AIMS_USER", "root@x.org")
    assert aims(["principals", "add", "bo@x.org", "--kind", "human"], root, capsys)[0] == 0
    code, out, _ = aims(["grant", "bo@x.org", "--role", "scientist"], root, capsys)
    assert code == 0 and "scientist@default" in out
    code, _, err = aims(
        ["keys", "create", "--principal", "bo@x.org", "-r", "operator"], root, capsys
    )
    assert code == 1 and "never widen" in err
    code, out, err = aims(
        ["keys", "create", "--principal", "bo@x.org", "--format", "json"], root, capsys
    )
    assert code == 0, err
    assert json.loads(out)["role"] == "scientist" and json.loads(out)["principal"] == "bo@x.org"
    assert aims(["grant", "bo@x.org", "--remove"], root, capsys)[0] == 0
    code, _, err = aims(["keys", "create", "--principal", "bo@x.org"], root, capsys)
    assert code == 1 and "holds no grant on project default" in err
    code, _, err = aims(["principals", "add", "bot", "--kind", "agent"], root, capsys)
    assert code == 1 and "needs a human owner" in err
    code, _, err = aims(
        ["grant", "bo@x.org", "--role", "viewer", "--break-glass", "--reason", "x"], root, capsys
    )
    assert code == 1 and "local mode" in err
    code, out, _ = aims(["principals", "disable", "bo@x.org", "--reason", "left"], root, capsys)
    assert code == 0 and "disabled" in out
    code, out, _ = aims(["keys", "list", "--format", "json"], root, capsys)
    assert json.loads(out) == []  # bo's key stopped with bo; keys list shows active ones
    code, out, _ = aims(["keys", "list", "--all", "--format", "json"], root, capsys)
    assert [k["status"] for k in json.loads(out)] == ["suspended"]

"""``aims monitor`` and ``aims incidents``, run as a user would: a real process per call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aims.workspace import Workspace
from tests.services.monitor.conftest import HOUR, T0, Traffic, make_synthetic, serve

# The command groups are attached by aims.cli.commands; until they are, attach
# them here the same way, so the commands run exactly as they will for users.
ENTRY = r"""
import sys
from aims.cli import commands, main
from aims.cli.monitor import incidents_app, monitor_app

_register = commands.register

def register(app):
    _register(app)
    names = {g.name for g in app.registered_groups}
    if "monitor" not in names:
        app.add_typer(monitor_app, name="monitor")
    if "incidents" not in names:
        app.add_typer(incidents_app, name="incidents")

commands.register = register
main.main(sys.argv[1:])
"""


def aims(args: list[str], root: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AIMS_USER": "ana@example.org",
        "AIMS_WORKSPACE": str(root),
        "COLUMNS": "160",
    }
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def root(workspace: Workspace, tmp_path: Path) -> Path:
    synthetic = make_synthetic(tmp_path)
    ws = serve(workspace, synthetic)
    traffic = Traffic(ws, synthetic.model, seed=51)
    for w in range(3):
        traffic.window(T0 + w * HOUR, 200, shift={"x0": 2.0} if w == 2 else None)
    traffic.close()
    return ws.root


@pytest.mark.slow
def test_monitor_run_once_then_work_the_incident(root: Path) -> None:
    now = (T0 + 4 * HOUR).isoformat()
    out = aims(["monitor", "run", "--once", "--at", now, "--format", "json"], root)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["windows"] == 3 and summary["models"] == ["syn"]
    assert len(summary["incidents_opened"]) >= 1

    table = aims(["incidents", "list"], root)
    assert table.returncode == 0 and "feature_drift" in table.stdout
    listed = json.loads(aims(["incidents", "list", "--format", "json"], root).stdout)
    drift = next(i for i in listed if i["kind"] == "drift")
    assert drift["first_window"] == (T0 + 2 * HOUR).isoformat()

    ack = aims(["incidents", "ack", str(drift["id"]), "--note", "on it"], root)
    assert ack.returncode == 0 and "acknowledged by ana@example.org" in ack.stdout
    done = aims(
        ["incidents", "resolve", str(drift["id"]), "--note", "root cause: feed; fix: replayed"],
        root,
    )
    assert done.returncode == 0 and "resolved by ana@example.org" in done.stdout
    shown = aims(["incidents", "show", str(drift["id"]), "--format", "json"], root)
    data = json.loads(shown.stdout)
    assert data["status"] == "resolved" and data["resolution"].startswith("root cause")
    assert data["condition"].startswith("psi > 0.25")
    twice = aims(["incidents", "resolve", str(drift["id"]), "--note", "x"], root)
    assert twice.returncode == 1 and twice.stderr.startswith("error: incident")
    assert len(twice.stderr.strip().splitlines()) == 1

    windows = aims(["monitor", "windows", "syn", "--format", "json"], root)
    rows = json.loads(windows.stdout)
    assert [r["predictions"] for r in rows] == [200, 200, 200]
    assert "feature_drift" in rows[0]["fired"]


def test_a_bad_policy_is_one_line_naming_the_key(root: Path) -> None:
    import yaml

    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"]["monitoring"] = {"triggers": [{"name": "x", "when": "psi > 0.2 on 3 colums"}]}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    out = aims(["monitor", "run", "--once"], root)
    assert out.returncode == 1
    assert "policy.monitoring.triggers[0].when" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    bad_now = aims(["monitor", "run", "--once", "--at", "yesterday"], root)
    assert bad_now.returncode == 1 and "ISO 8601" in bad_now.stderr

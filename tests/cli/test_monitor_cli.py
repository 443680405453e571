"""``aims monitor`` and ``aims incidents``, run as a user would (the entry point in this
process, see :mod:`tests.cli.in_process`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from aims.workspace import Workspace
from tests.cli.in_process import run_in_process
from tests.services.monitor.conftest import HOUR, T0, Traffic, make_synthetic, serve


def aims(args: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    """``aims ARGS`` on the workspace ``root``, the entry point run in this process."""
    env = {"AIMS_USER": "ana@example.org", "AIMS_WORKSPACE": str(root), "COLUMNS": "160"}
    return run_in_process(args, root, env)


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

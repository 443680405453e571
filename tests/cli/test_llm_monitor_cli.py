"""``aims monitor run`` computes LLM application windows from the span store, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aims.storage.traces import SpanWriter
from aims.workspace import Workspace
from tests.cli.test_monitor_cli import aims
from tests.services.llm_monitor.traffic import HOUR, T0, Mix, configure, register, replay


def test_monitor_run_opens_an_llm_incident(workspace: Workspace, tmp_path: Path) -> None:
    ws = configure(workspace, {"reference_windows": 2, "sample_size": 100})
    register(ws, tmp_path / "apps", "helpdesk")
    plan = [Mix(requests=60), Mix(requests=60), Mix(requests=60, cost_per_call=0.01)]
    with SpanWriter(ws.settings.trace_log_url, flush_interval=3600) as writer:
        writer.append(replay("helpdesk", plan, seed=5))
    root = ws.root
    ws.close()
    now = (T0 + 4 * HOUR).isoformat()
    out = aims(["monitor", "run", "--once", "--at", now, "--format", "json"], root)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["windows"] == 3 and "helpdesk" in summary["models"]
    assert len(summary["incidents_opened"]) == 1
    listed = aims(["incidents", "list", "--format", "json"], root)
    assert listed.returncode == 0, listed.stderr
    [incident] = json.loads(listed.stdout)
    assert (incident["trigger"], incident["kind"], incident["owner"]) == (
        "llm_cost_spike",
        "cost",
        "oncall@example.org",
    )
    shown = aims(["monitor", "windows", "helpdesk", "--role", "llm", "--format", "json"], root)
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [r["window_start"] for r in rows] == [(T0 + k * HOUR).isoformat() for k in (2, 1, 0)]
    assert rows[0]["values"]["cost_usd"] == pytest.approx(60 * 0.01)
    assert rows[0]["fired"] == ["llm_cost_spike"]

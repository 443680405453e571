"""The text drift alarm fires on a topic shift and not before, over several seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from aims.clock import utc
from aims.services.llm_monitor import full_pass
from aims.services.monitor import list_incidents, show_incident
from aims.storage.schema import MonitorWindow
from aims.storage.traces import SpanWriter
from tests.services.llm_monitor.traffic import HOUR, T0, Mix, configure, register, replay

SEEDS = (1, 2, 3)
STABLE, SHIFTED = 6, 4  # windows of each half; the first 3 stable ones are the reference


@pytest.fixture
def shifted_workspace(workspace, tmp_path: Path):
    ws = configure(workspace, {"reference_windows": 3, "sample_size": 200})
    plan = [Mix("orders", requests=80)] * STABLE + [Mix("accounts", requests=80)] * SHIFTED
    with SpanWriter(ws.settings.trace_log_url, flush_interval=3600) as writer:
        for seed in SEEDS:
            register(ws, tmp_path / "apps", f"bot-{seed}")
            writer.append(replay(f"bot-{seed}", plan, seed))
    yield ws


def test_text_drift_fires_on_the_shift_and_not_before(shifted_workspace) -> None:
    ws = shifted_workspace
    summary = full_pass(ws, now=T0 + (STABLE + SHIFTED) * HOUR + HOUR)
    assert summary.errors == []
    assert summary.windows == len(SEEDS) * (STABLE + SHIFTED)
    drift = [i for i in list_incidents(ws) if i["trigger"] == "llm_text_drift"]
    assert sorted(i["model"] for i in drift) == [f"bot-{s}" for s in SEEDS]
    for incident in drift:
        assert incident["first_window"] == (T0 + STABLE * HOUR).isoformat()
        assert incident["window_count"] == SHIFTED
        assert incident["owner"] == "oncall@example.org"
        assert incident["kind"] == "text_drift"
        detail = show_incident(ws, incident["id"])
        observed = detail["evidence"]["windows"][0]["observed"]
        assert observed["text_drift_score"] >= 1
    # nothing else fired on the stable half: no cost, error or refusal change was sent
    assert {i["trigger"] for i in list_incidents(ws)} == {"llm_text_drift"}
    with ws.db.session() as s:
        rows = s.scalars(select(MonitorWindow).where(MonitorWindow.role == "llm")).all()
        scores = {(r.model_id, utc(r.window_start)): r.results["values"] for r in rows}
    for (_, start), values in scores.items():
        k = round((start - T0) / HOUR)
        if k < 3:  # the reference windows compare with nothing
            assert "text_drift_score" not in values
        elif k < STABLE:
            assert values["text_drift_score"] < 1
            assert values["input_drift_auc"] < 0.65 and values["output_drift_auc"] < 0.65
        else:
            assert values["input_drift_auc"] > 0.95 and values["output_drift_auc"] > 0.95


def test_a_rolling_reference_alarms_then_absorbs_the_new_topic(workspace, tmp_path: Path) -> None:
    ws = configure(workspace, {"reference": "rolling", "reference_windows": 2, "sample_size": 200})
    register(ws, tmp_path / "apps", "bot")
    plan = [Mix("orders", requests=60)] * 3 + [Mix("accounts", requests=60)] * 4
    with SpanWriter(ws.settings.trace_log_url, flush_interval=3600) as writer:
        writer.append(replay("bot", plan, seed=4))
    summary = full_pass(ws, now=T0 + len(plan) * HOUR + HOUR)
    assert summary.windows == len(plan) and summary.errors == []
    [incident] = list_incidents(ws)
    # Windows 3 and 4 still have orders in their reference; from window 5 on it is all accounts.
    assert incident["trigger"] == "llm_text_drift"
    assert incident["first_window"] == (T0 + 3 * HOUR).isoformat()
    assert incident["window_count"] == 2

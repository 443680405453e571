"""LLM windows: figures checked against the spans, triggers opening audited incidents, re-runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import select

from aims.errors import ConfigError
from aims.services import audit
from aims.services.llm_monitor import full_pass, run_llm, table_source
from aims.services.monitor import list_incidents, parse_monitoring
from aims.services.monitor.context import RunSummary
from aims.storage.schema import MonitorWindow
from aims.storage.traces import SpanWriter
from aims.workspace import Workspace
from tests.conftest import _open_workspace
from tests.services.llm_monitor.traffic import HOUR, T0, Mix, configure, register, replay

PLAN = [
    Mix(requests=60),
    Mix(requests=60),
    Mix(requests=60, error_share=0.4),  # error rate rise
    Mix(requests=60, refusal_share=0.5),  # refusal jump
    Mix(requests=60, cost_per_call=0.005),  # cost spike
]


@dataclass
class Replayed:
    ws: Workspace
    spans: pa.Table
    summary: RunSummary


def _pass(ws: Workspace, spans: pa.Table) -> RunSummary:
    summary = RunSummary(started_at=T0)
    return run_llm(ws, summary, T0 + len(PLAN) * HOUR + HOUR, source=table_source(spans))


@pytest.fixture(scope="module")
def changes(tmp_path_factory: pytest.TempPathFactory):
    """One workspace and one pass over the plan (spans read from a table), shared by the module."""
    root = tmp_path_factory.mktemp("llm-windows")
    ws = configure(_open_workspace(root / "ws"), {"reference_windows": 2, "sample_size": 200})
    register(ws, root / "apps", "helpdesk")
    spans = replay("helpdesk", PLAN, seed=7)
    # Spans of a version nobody registered are reported, not monitored.
    stray = spans.slice(0, 3).set_column(
        spans.schema.get_field_index("version"), "version", pa.array(["9"] * 3)
    )
    spans = pa.concat_tables([spans, stray])
    yield Replayed(ws, spans, _pass(ws, spans))
    ws.close()


def _windows(ws: Workspace) -> list[MonitorWindow]:
    with ws.db.session() as s:
        rows = s.scalars(
            select(MonitorWindow)
            .where(MonitorWindow.role == "llm")
            .order_by(MonitorWindow.window_start)
        ).all()
        s.expunge_all()
    return list(rows)


def test_window_figures_match_the_spans(changes: Replayed) -> None:
    ws, spans, summary = changes.ws, changes.spans, changes.summary
    assert summary.windows == len(PLAN)
    assert any("version '9'" in e and "not a registered version" in e for e in summary.errors)
    rows = _windows(ws)
    first = rows[0].results
    ts = spans.schema.field("start_time").type
    in_first = pc.and_(
        pc.equal(spans.column("version"), "1"),
        pc.less(spans.column("start_time"), pa.scalar(T0 + HOUR, ts)),
    )
    chats = spans.filter(pc.and_(in_first, pc.equal(spans.column("operation"), "chat")))
    latency = chats.column("latency_ms").to_numpy()
    values = first["values"]
    assert values["requests"] == 60 and rows[0].n_predictions == 60
    assert values["latency_p95_ms"] == pytest.approx(np.percentile(latency, 95))
    assert values["latency_p50_ms"] == pytest.approx(np.median(latency))
    assert values["cost_usd"] == pytest.approx(60 * 0.001)
    assert values["tool_error_rate"] == pytest.approx(0.1)
    assert values["input_tokens"] == 60 * 40 and values["output_tokens"] == 60 * 20
    assert values["feedback_mean"] == pytest.approx(0.5)
    assert first["evaluations"] == {"helpful": {"n": 60, "mean": 0.5}}
    assert sum(u["cost_usd"] for u in first["cost_by_user"]) == pytest.approx(values["cost_usd"])
    assert {u["name"] for u in first["cost_by_user"]} == {f"user-{i}" for i in range(7)}
    assert first["cost_by_agent"] == [{"name": "support", "cost_usd": pytest.approx(0.06)}]
    assert first["reference"]["complete"] is False and "cost_ratio" not in values
    compared = rows[2].results
    assert compared["reference"]["complete"] is True
    assert compared["reference"]["baselines"]["error_rate"] == 0.0
    assert compared["values"]["error_rate_rise"] == pytest.approx(compared["values"]["error_rate"])
    assert compared["features"]["input.chars"]["drifted"] is False
    assert compared["values"]["text_drift_score"] < 1


def test_changes_open_one_audited_incident_each(changes: Replayed) -> None:
    ws = changes.ws
    incidents = {i["trigger"]: i for i in list_incidents(ws)}
    assert set(incidents) == {
        "llm_error_rate",
        "llm_refusal_jump",
        "llm_cost_spike",
        "llm_text_drift",
    }
    assert incidents["llm_error_rate"]["first_window"] == (T0 + 2 * HOUR).isoformat()
    assert incidents["llm_refusal_jump"]["first_window"] == (T0 + 3 * HOUR).isoformat()
    assert incidents["llm_cost_spike"]["first_window"] == (T0 + 4 * HOUR).isoformat()
    # Half the answers became one refusal: the responses drifted, the prompts did not.
    drift = incidents["llm_text_drift"]
    assert drift["first_window"] == (T0 + 3 * HOUR).isoformat() and drift["window_count"] == 1
    refused = _windows(ws)[3].results["values"]
    assert refused["output_drift_score"] >= 1 > refused["input_drift_score"]
    for incident in incidents.values():
        assert incident["owner"] == "oncall@example.org"
        assert incident["model"] == "helpdesk" and incident["version"] == 1
    opened = audit.query(ws.db, audit.EventFilter(action="incident.open"))
    assert sorted(e["payload"]["trigger"] for e in opened) == sorted(incidents)
    assert all(e["subject"] == "model:helpdesk@1" for e in opened)


def test_a_second_pass_changes_nothing(changes: Replayed) -> None:
    again = _pass(changes.ws, changes.spans)
    assert again.windows == 0 and again.incidents_opened == []
    [waiting] = again.waiting
    assert waiting["model"] == "helpdesk" and "no new LLM spans" in waiting["reason"]
    assert waiting["next_close"] == (T0 + 7 * HOUR + timedelta(minutes=5)).isoformat()
    assert len(_windows(changes.ws)) == len(PLAN)


def test_the_full_pass_reads_the_span_store(workspace: Workspace, tmp_path: Path) -> None:
    ws = configure(workspace, {"reference_windows": 2, "sample_size": 200})
    register(ws, tmp_path / "apps", "helpdesk")
    with SpanWriter(ws.settings.trace_log_url, flush_interval=3600) as writer:
        writer.append(replay("helpdesk", PLAN[:3], seed=8))
    summary = full_pass(ws, now=T0 + 4 * HOUR, models=["helpdesk"])
    assert summary.windows == 3 and summary.errors == []
    assert "helpdesk" in summary.models
    assert [i["trigger"] for i in list_incidents(ws)] == ["llm_error_rate"]


def test_llm_settings_and_figures_are_checked_when_the_policy_is_read() -> None:
    policy = parse_monitoring(
        {
            "llm": {"reference_windows": 6},
            "triggers": [{"name": "p99", "when": "latency_p99_ms > 4000"}],
        }
    )
    assert policy.llm.reference_windows == 6
    with pytest.raises(ConfigError, match=r"policy\.monitoring\.llm\.reference_windows"):
        parse_monitoring({"llm": {"reference_windows": 0}})
    with pytest.raises(ConfigError, match="did you mean refusal_rate"):
        parse_monitoring({"triggers": [{"name": "r", "when": "refusal_rat > 0.2", "task": "llm"}]})


def test_llm_windows_are_exported_as_prometheus_metrics(changes: Replayed) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from aims.services.monitor.metrics import MonitorCollector

    registry = CollectorRegistry()
    registry.register(MonitorCollector(changes.ws))
    text = generate_latest(registry).decode()
    labels = 'model="helpdesk",role="llm",version="1"'
    assert f"aims_llm_cost_usd{{{labels}}} 0.3" in text
    assert f"aims_llm_requests{{{labels}}} 60.0" in text
    assert "aims_llm_text_drift_score{" + labels in text
    assert 'aims_monitor_feature_drift_score{feature="input.chars",' + labels in text


def test_a_window_another_monitor_stored_first_is_left_alone(changes: Replayed) -> None:
    from aims.services.llm_monitor.runner import _Pass

    summary = RunSummary(started_at=T0)
    racing = _Pass(changes.ws, summary, T0 + 8 * HOUR, table_source(changes.spans))
    # The first window is stored already: computing it again hits the unique key.
    assert racing.window(_windows(changes.ws)[0].model_id, "helpdesk", T0) == 0
    assert summary.windows == 0 and summary.incidents_opened == []
    assert len(_windows(changes.ws)) == len(PLAN)


def test_an_llm_application_without_spans_is_told_to_send_traces_not_to_be_served(
    workspace: Workspace, tmp_path: Path
) -> None:
    from aims.services import lifecycle, registry
    from aims.services.monitor import run_once

    ws = configure(workspace, {"reference_windows": 2})
    register(ws, tmp_path / "apps", "helpdesk")
    registry.set_owners(ws, "helpdesk", {"deployment": "ops@example.org"}, actor="ana@example.org")
    lifecycle.promote(ws, "helpdesk@1", "production", actor="dev@example.org")
    # The tabular pass alone, and the full pass (an empty span store behind it).
    for summary in (run_once(ws, now=T0), full_pass(ws, now=T0)):
        [waiting] = [w for w in summary.waiting if w["model"] == "helpdesk"]
        reason = waiting["reason"]
        assert "serve it" not in reason and "aims serve" not in reason
        assert "predictions" not in reason
        assert "no spans received for helpdesk@1 (in production)" in reason
        assert "monitored from its traces" in reason and "/v1/traces" in reason
    ws.close()

"""``aims demo --llm`` as a real process: the LLM chapter's story, and what it leaves in the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

pytestmark = [pytest.mark.slow]

APP = "support-assistant"


@pytest.fixture(scope="module")
def demo(llm_demo: dict) -> dict:
    """One ``aims demo --llm --format json`` process (shared with the dashboard's LLM page
    tests, which serve a copy of its workspace): its workspace, summary and stderr."""
    return llm_demo


def test_the_chapter_tells_each_step(demo) -> None:
    told = " ".join(demo["told"].split())
    for fact in (
        f"registered LLM application {APP}@1",
        "may not approve her own application version (four-eyes)",
        f"{APP}@1 promoted to production through the gates",
        f"{APP}@2 refused by the gates despite its approval",
        "OTLP/HTTP exporter: 720 spans",
        "incident #1 opened (llm_cost_spike, high), owner ml-oncall@example.org",
    ):
        assert fact in told, fact
    summary = demo["summary"]
    assert summary["spans_sent"] == summary["spans_stored"] == 720
    assert set(summary["refused_rules"]) == {
        "gate:pass_rate>=0.8",
        "gate:refusal_rate<=0.05",
        "gate:token_f1>=production-0",
    }
    assert summary["incident"]["owner"] == "ml-oncall@example.org"


def test_the_store_holds_the_versions_spans_windows_and_incident(demo) -> None:
    from aims.services.registry import describe
    from aims.services.traces import trace_log_url
    from aims.storage.schema import AuditEvent, Incident
    from aims.storage.traces import read_spans
    from aims.workspace import Workspace

    ws = Workspace.open(demo["folder"])
    try:
        stages = {v["version"]: v["stage"] for v in describe(ws, APP)["versions"]}
        assert stages == {1: "production", 2: "registered"}
        spans = [
            row
            for batch in read_spans(
                trace_log_url(ws),
                application=APP,
                columns=["version", "operation", "input_tokens", "cost_usd", "dialect"],
            )
            for row in batch.to_pylist()
        ]
        assert len(spans) == 720 and {s["version"] for s in spans} == {"1"}
        chats = [s for s in spans if s["operation"] == "chat"]
        assert len(chats) == 360 and all(s["input_tokens"] and s["cost_usd"] for s in chats)
        assert {s["dialect"] for s in chats} == {"otel-genai-1.37"}
        with ws.db.session() as s:
            incident = s.scalars(select(Incident)).one()
            assert (incident.kind, incident.owner) == ("cost", "ml-oncall@example.org")
            actions = set(
                s.scalars(select(AuditEvent.action).where(AuditEvent.subject.like(f"model:{APP}%")))
            )
        assert {"model.register", "model.evaluate", "model.approve", "model.promote"} <= actions
        assert "model.approve.refused" in actions
    finally:
        ws.close()


def test_one_chapter_at_a_time(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aims", "demo", "--llm", "--agents", "--dir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--agents and --llm each run one chapter alone" in " ".join(done.stderr.split())
    assert not (tmp_path / "w").exists()  # refused before any workspace is made

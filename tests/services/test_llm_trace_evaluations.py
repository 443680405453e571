"""Evaluation results other tools put on an LLM application's spans, taken in as evidence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select

from aims.core.genai.span import REQUIRED_FIELDS, SPAN_FIELDS, span_schema
from aims.errors import InvalidInput
from aims.services import llm_apps, llm_trace_evaluations
from aims.services.evaluations import latest_evaluation
from aims.storage.schema import AuditEvent, TraceEvaluation
from aims.storage.traces import SpanWriter
from tests.services.llm_fixtures import write_app

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _span(i: int, version: str | None, evaluations: list[dict], *, hours_ago: float = 1) -> dict:
    start = NOW - dt.timedelta(hours=hours_ago)
    row: dict = dict.fromkeys(SPAN_FIELDS)
    row.update(
        project="default",
        application="geo",
        version=version,
        trace_id=f"{i:032x}",
        span_id=f"{i:016x}",
        name="chat gpt-4o-mini",
        start_time=start,
        end_time=start + dt.timedelta(milliseconds=200),
        latency_ms=200.0,
        status="ok",
        dialect="otel-genai-1.37",
        evaluations=evaluations,
    )
    assert {k for k, v in row.items() if v is not None} >= REQUIRED_FIELDS
    return row


def _write(url: str, rows: list[dict]) -> None:
    with SpanWriter(url, flush_interval=0.05) as writer:
        writer.append(pa.Table.from_pylist(rows, schema=span_schema()))


def test_results_on_the_versions_spans_are_summarised_and_stored_apart_from_the_gates(
    workspace, tmp_path: Path
) -> None:
    for name in ("v1", "v2"):
        llm_apps.register_app(
            workspace, write_app(tmp_path, name, f"Prompt {name}."), "geo", actor="ana@x.org"
        )
    relevance = {"name": "relevance", "score_value": None, "score_label": None, "explanation": None}
    _write(
        workspace.settings.trace_log_url,
        [
            _span(1, "2", [{**relevance, "score_value": 0.9, "score_label": "relevant"}]),
            _span(2, "2", [{**relevance, "score_value": 0.5, "score_label": "partly"}]),
            _span(3, "2", [{**relevance, "name": "toxicity", "score_label": "clean"}]),
            _span(4, "2", []),
            _span(5, "1", [{**relevance, "score_value": 0.1}]),  # another version
            _span(6, "2", [{**relevance, "score_value": 0.0}], hours_ago=72),  # before --since
        ],
    )
    out = llm_trace_evaluations.evaluations_from_traces(
        workspace, "geo@2", actor="ana@x.org", since="24h"
    )
    assert (out["source"], out["spans"], out["results"]) == ("traces", 4, 3)
    assert out["evaluations"]["relevance"] == {
        "count": 2,
        "scored": 2,
        "mean_score": pytest.approx(0.7),
        "min_score": 0.5,
        "max_score": 0.9,
        "labels": {"partly": 1, "relevant": 1},
    }
    assert out["evaluations"]["toxicity"]["labels"] == {"clean": 1}
    assert out["evaluations"]["toxicity"]["mean_score"] is None
    [stored] = llm_trace_evaluations.trace_evaluations_of(workspace, "geo@2")
    assert stored["results"] == 3 and stored["evaluations"] == out["evaluations"]
    with workspace.db.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "model.evaluate.traces"))
        row = s.scalar(select(TraceEvaluation))
        assert event is not None and row is not None and row.audit_seq == event.seq
        assert json.loads(event.payload)["source"] == "traces"
        # The gates keep reading the evaluations aims ran itself: there is none.
        assert latest_evaluation(s, row.model_version_id) is None

    everything = llm_trace_evaluations.evaluations_from_traces(workspace, "geo@2", actor="a")
    assert everything["spans"] == 5 and everything["since"] is None
    nothing = llm_trace_evaluations.evaluations_from_traces(
        workspace, "geo@1", actor="a", since="1h"
    )
    assert nothing["spans"] == 0 and nothing["evaluations"] == {}
    with pytest.raises(InvalidInput, match="neither a time"):
        llm_trace_evaluations.evaluations_from_traces(workspace, "geo@2", actor="a", since="soon")

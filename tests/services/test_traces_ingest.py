"""Trace ingestion in the service layer: an OTLP export through to the list and the span tree,
the content policy per project, and links to registered versions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from aims.errors import ConfigError, InvalidInput, NotFound
from aims.services.trace_otlp import JSON, BodyTooLarge, UnsupportedMediaType
from aims.services.trace_settings import trace_settings
from aims.services.trace_view import list_traces, trace_tree
from aims.services.traces import TraceIngest, trace_log_url
from aims.storage.traces import SpanWriter
from tests.conftest import _open_workspace
from tests.server.trace_server import export_json, span_json

TRACE = "cd" * 16


def agent_trace() -> list[dict]:
    """An agent span with a chat call and a failing tool call under it."""
    root = span_json(0, trace=TRACE, **{"gen_ai.operation.name": "invoke_agent"})
    root["spanId"] = "a" * 16
    chat = span_json(1, trace=TRACE)
    chat["parentSpanId"] = "a" * 16
    tool = span_json(2, trace=TRACE, **{"gen_ai.operation.name": "execute_tool"})
    tool["parentSpanId"] = "a" * 16
    tool["status"] = {"code": 2, "message": "timeout"}
    root["endTimeUnixNano"] = str(int(tool["endTimeUnixNano"]) + 1)
    return [tool, root, chat]


@pytest.fixture
def ws(tmp_path: Path):
    ws = _open_workspace(tmp_path / "ws")
    yield ws
    ws.close()


def test_an_export_becomes_a_listed_trace_and_a_span_tree(ws):
    with SpanWriter(trace_log_url(ws), flush_interval=60) as writer:
        result = TraceIngest(ws, writer).export(
            gzip.compress(export_json(agent_trace())), JSON, "gzip", "default"
        )
    assert (result.accepted, result.rejected) == (3, 0)
    (listed,) = list_traces(ws)
    assert listed["trace_id"] == TRACE and listed["root"] == "chat gpt-4o-mini"
    assert (listed["spans"], listed["errors"], listed["input_tokens"]) == (3, 1, 300)
    assert listed["cost_usd"] == pytest.approx(3 * (100 * 0.15 + 20 * 0.6) / 1e6)
    assert listed["duration_ms"] == pytest.approx(2050.0, abs=0.01)
    tree = trace_tree(ws, TRACE.upper())
    assert [(s["depth"], s["operation"]) for s in tree] == [
        (0, "invoke_agent"),
        (1, "chat"),
        (1, "execute_tool"),
    ]
    assert tree[2]["status"] == "error" and tree[2]["error_type"] == "_OTHER"
    assert list_traces(ws, application="nobody") == []
    with pytest.raises(NotFound, match="aims traces list"):
        trace_tree(ws, "ef" * 16)
    with pytest.raises(InvalidInput, match="32 hex digits"):
        trace_tree(ws, "xyz")


def test_undecodable_bodies_store_nothing(ws):
    with SpanWriter(trace_log_url(ws), flush_interval=60) as writer:
        ingest = TraceIngest(ws, writer, max_decompressed_bytes=1000)
        with pytest.raises(InvalidInput, match="not JSON"):
            ingest.export(b"{", JSON, None, "default")
        with pytest.raises(BodyTooLarge):
            ingest.export(gzip.compress(b" " * 5000), JSON, "gzip", "default")
        with pytest.raises(UnsupportedMediaType):
            ingest.export(b"{}", JSON, "deflate", "default")
        with pytest.raises(InvalidInput, match="resourceSpans"):
            ingest.export(b"[1]", JSON, None, "default")
        assert writer.stats.queued_rows == 0
    assert list_traces(ws) == []


def test_the_content_policy_is_set_per_project(ws):
    config = ws.settings.root / "aims.yaml"
    config.write_text(
        config.read_text()
        + "traces:\n  content: off\n  projects:\n    support: {content: full}\n"
        + "  prices:\n    gpt-4o-mini: {input: 1.0, output: 2.0}\n"
    )
    from aims.workspace import Workspace

    fresh = Workspace.open(ws.settings.root)
    try:
        settings = trace_settings(fresh)
        assert settings.content_of("support") == "full"
        assert settings.content_of("default") == "off"  # YAML's bare off, read as off
        assert settings.prices.cost("gpt-4o-mini", 1_000_000, 0) == 1.0
        message = {"gen_ai.input.messages": json.dumps([{"role": "user", "content": "hi"}])}
        with SpanWriter(trace_log_url(fresh), flush_interval=60) as writer:
            ingest = TraceIngest(fresh, writer, settings=settings)
            ingest.export(export_json([span_json(1, **message)]), JSON, None, "support")
            ingest.export(export_json([span_json(2, **message)]), JSON, None, "default")
        from aims.storage.traces import read_spans

        kept = {
            r["project"]: r["input_content"]
            for b in read_spans(trace_log_url(fresh), columns=["project", "input_content"])
            for r in b.to_pylist()
        }
        assert kept == {"support": '[{"role":"user","content":"hi"}]', "default": None}
    finally:
        fresh.close()


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ("traces:\n  content: everything\n", "off, redacted, full"),
        ("traces:\n  colour: red\n", "unknown key"),
        ("traces:\n  prices:\n    m: {input: -1, output: 1}\n", "dollars >= 0"),
        ("traces:\n  prices:\n    m: {output: 1}\n", "'input' is required"),
    ],
)
def test_bad_trace_settings_say_what_to_fix(ws, section, says):
    from aims.workspace import Workspace

    config = ws.settings.root / "aims.yaml"
    config.write_text(config.read_text() + section)
    fresh = Workspace.open(ws.settings.root)
    try:
        with pytest.raises(ConfigError, match=says):
            trace_settings(fresh)
    finally:
        fresh.close()


def test_the_evidence_report_states_the_trace_content_policy(ws):
    from aims.services.evidence import compliance_report
    from aims.services.evidence_render import render_markdown
    from aims.workspace import Workspace

    config = ws.settings.root / "aims.yaml"
    config.write_text(
        config.read_text() + "traces:\n  projects:\n    default: {content: redacted}\n"
    )
    fresh = Workspace.open(ws.settings.root)
    try:
        report = compliance_report(fresh)
    finally:
        fresh.close()
    stated = report.to_dict()["trace_content"]
    assert (stated["policy"], stated["setting"]) == ("redacted", "traces.projects.default.content")
    assert "LLM trace content: redacted" in render_markdown(report)


def test_spans_link_to_registered_versions_by_name_and_version_or_by_prompt_hash(ws, tmp_path):
    from aims.services import llm_apps
    from aims.storage.traces import read_spans
    from tests.services.llm_fixtures import write_app

    for name in ("v1", "v2"):
        llm_apps.register_app(
            ws, write_app(tmp_path, name, f"Prompt {name}."), "geo", actor="ana@x.org"
        )
    by_version = span_json(1, **{"gen_ai.agent.name": "geo", "gen_ai.agent.version": "1"})
    by_prompt = span_json(
        2,
        **{
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Prompt v2."}]),
        },
    )
    unknown = span_json(3, **{"gen_ai.agent.name": "stranger"})
    with SpanWriter(trace_log_url(ws), flush_interval=60) as writer:
        TraceIngest(ws, writer).export(
            export_json([by_version, by_prompt, unknown], service="geo-service"),
            JSON,
            None,
            "default",
        )
    linked = {
        r["span_id"]: (r["application"], r["version"])
        for b in read_spans(trace_log_url(ws), columns=["span_id", "application", "version"])
        for r in b.to_pylist()
    }
    assert linked == {
        by_version["spanId"]: ("geo", "1"),
        by_prompt["spanId"]: ("geo", "2"),
        unknown["spanId"]: ("stranger", None),
    }

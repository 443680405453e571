"""``aims traces list`` and ``aims traces show`` on a workspace's span store."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from aims.cli.traces import traces_app
from aims.services.trace_otlp import JSON
from aims.services.traces import TraceIngest, trace_log_url
from aims.storage.traces import SpanWriter
from tests.conftest import _open_workspace
from tests.server.trace_server import export_json, span_json
from tests.services.test_traces_ingest import TRACE, agent_trace


def invoke(root: Path, *args: str):
    app = typer.Typer()
    app.add_typer(traces_app, name="traces")
    return CliRunner().invoke(app, ["traces", *args], env={"AIMS_WORKSPACE": str(root)})


def test_list_and_show(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ws = _open_workspace(root)
    with SpanWriter(trace_log_url(ws), flush_interval=60) as writer:
        ingest = TraceIngest(ws, writer)
        ingest.export(export_json(agent_trace(), service="desk"), JSON, None, "default")
        ingest.export(export_json([span_json(9)], service="other"), JSON, None, "default")
    ws.close()
    listed = invoke(root, "list", "--app", "desk", "--format", "json")
    assert listed.exit_code == 0, listed.output
    (trace,) = json.loads(listed.output)
    assert (trace["trace_id"], trace["spans"], trace["application"]) == (TRACE, 3, "desk")
    table = invoke(root, "list", "--since", "2020-01-01")
    assert table.exit_code == 0 and TRACE in table.output and "desk" in table.output
    shown = invoke(root, "show", TRACE)
    assert shown.exit_code == 0, shown.output
    assert "invoke_agent" in shown.output and "execute_tool" in shown.output
    assert "3 spans" in shown.output and "_OTHER" in shown.output
    missing = invoke(root, "show", "ef" * 16)
    assert missing.exit_code == 1 and "aims traces list" in str(missing.exception)

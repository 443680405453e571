"""``POST /v1/traces`` on a real ``aims serve``: the official OpenTelemetry exporter, OTLP JSON,
partial success, and the refusals."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from tests.server.conftest import wait_until
from tests.server.trace_server import Serve, export_json, span_json, trace_workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("traces") / "ws"
    keys = trace_workspace(root, traces_yaml="traces:\n  content: redacted\n")
    server = Serve(root)
    try:
        yield {
            "root": root,
            "url": server.url,
            "predictor": server.token(keys["predictor"]),
            "viewer": server.token(keys["viewer"]),
            "admin": server.token(keys["admin"]),
        }
    finally:
        server.stop()
    assert "Traceback" not in server.errors.read_text()


def stored(root: Path, **filters) -> pa.Table:
    from aims.services.traces import trace_log_url
    from aims.storage.traces import read_spans
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    try:
        batches = list(read_spans(trace_log_url(ws), **filters))
    finally:
        ws.close()
    return pa.Table.from_batches(batches) if batches else pa.table({})


def test_the_official_sdk_exporter_sends_spans_that_are_normalised_and_priced(served):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "support-desk"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{served['url']}/v1/traces",
        headers={"Authorization": f"Bearer {served['predictor']}"},
        compression=Compression.Gzip,
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("invoke_agent helper") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        agent.set_attribute("gen_ai.agent.name", "helper")
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 200,
                    "user.id": "alice@example.org",
                    "gen_ai.input.messages": json.dumps(
                        [
                            {
                                "role": "user",
                                "parts": [
                                    {"type": "text", "content": "mail me at alice@example.org"}
                                ],
                            }
                        ]
                    ),
                }
            )
        trace_id = f"{agent.get_span_context().trace_id:032x}"
    provider.shutdown()
    table = wait_until(lambda: (t := stored(served["root"])).num_rows >= 2 and t, timeout=20)
    rows = {r["name"]: r for r in table.to_pylist() if r["trace_id"] == trace_id}
    chat_row = rows["chat gpt-4o"]
    assert chat_row["project"] == "default" and chat_row["application"] == "support-desk"
    assert (chat_row["input_tokens"], chat_row["output_tokens"]) == (1000, 200)
    assert chat_row["cost_usd"] == pytest.approx((1000 * 2.5 + 200 * 10.0) / 1e6)
    assert chat_row["parent_span_id"] == rows["invoke_agent helper"]["span_id"]
    assert rows["invoke_agent helper"]["application"] == "helper"
    assert chat_row["end_user"] and "alice" not in chat_row["end_user"]
    # The workspace stores content redacted: the address is a keyed hash.
    assert "alice@example.org" not in chat_row["input_content"]
    assert "<email:" in chat_row["input_content"]


def test_otlp_json_answers_partial_success_for_the_spans_it_refuses(served):
    good = [span_json(i, trace="ab" * 16) for i in range(3)]
    bad = [span_json(7, trace="not-hex"), {**span_json(8), "endTimeUnixNano": "1"}]
    answer = httpx.post(
        f"{served['url']}/v1/traces",
        content=export_json(good + bad, service="json-app"),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {served['predictor']}",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    partial = answer.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 2
    assert (
        "trace id" in partial["errorMessage"] and "ends before it starts" in partial["errorMessage"]
    )
    table = wait_until(lambda: (t := stored(served["root"], application="json-app")).num_rows and t)
    assert table.num_rows == 3 and set(table.column("trace_id").to_pylist()) == {"ab" * 16}


def test_protobuf_answers_in_protobuf(served):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    answer = httpx.post(
        f"{served['url']}/v1/traces",
        content=ExportTraceServiceRequest().SerializeToString(),
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {served['predictor']}",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    response = ExportTraceServiceResponse.FromString(answer.content)
    assert response.partial_success.rejected_spans == 0


@pytest.mark.parametrize(
    ("headers", "body", "status", "says"),
    [
        ({"Content-Type": "text/plain"}, b"hello", 415, "not an OTLP encoding"),
        ({"Content-Type": "application/json", "Content-Encoding": "br"}, b"{}", 415, "gzip"),
        (
            {"Content-Type": "application/x-protobuf"},
            b"\xff\xff\xff",
            400,
            "ExportTraceServiceRequest",
        ),
        ({"Content-Type": "application/json"}, b"{not json", 400, "not JSON"),
        ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"plain", 400, "gzip"),
        # 100 MB of zeros compress to about 100 kB: refused by its decompressed size.
        (
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            gzip.compress(b"0" * 100_000_000, 1),
            413,
            "decompressed",
        ),
    ],
)
def test_bodies_that_are_not_otlp_are_refused_with_the_reason(served, headers, body, status, says):
    before = stored(served["root"]).num_rows
    answer = httpx.post(
        f"{served['url']}/v1/traces",
        content=body,
        headers={**headers, "Authorization": f"Bearer {served['predictor']}"},
        timeout=30,
    )
    assert answer.status_code == status, answer.text
    # OTLP/HTTP: a google.rpc.Status in the request's encoding (JSON for a type it does not know).
    status_message = _status(answer)
    assert says in status_message.message
    assert answer.headers["content-type"] == (
        "application/x-protobuf" if "protobuf" in headers["Content-Type"] else "application/json"
    )
    if status == 400:  # the bad data is described by a BadRequest detail
        from google.rpc.error_details_pb2 import BadRequest

        [detail] = status_message.details
        bad = BadRequest()
        assert detail.Unpack(bad) and says in bad.field_violations[0].description
    assert stored(served["root"]).num_rows == before


def _status(answer: httpx.Response):
    from google.protobuf import json_format
    from google.rpc import error_details_pb2  # noqa: F401  (registers BadRequest for JSON)
    from google.rpc.status_pb2 import Status

    if answer.headers["content-type"] == "application/x-protobuf":
        return Status.FromString(answer.content)
    return json_format.Parse(answer.content, Status())


def test_a_client_that_asks_for_problem_details_gets_them(served):
    before = stored(served["root"]).num_rows
    for headers, status in (
        ({"Content-Type": "application/json"}, 400),
        ({"Content-Type": "text/plain"}, 415),
    ):
        answer = httpx.post(
            f"{served['url']}/v1/traces",
            content=b"{not json",
            headers={
                **headers,
                "Accept": "application/problem+json",
                "Authorization": f"Bearer {served['predictor']}",
            },
            timeout=30,
        )
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == status and answer.json()["detail"]
    assert stored(served["root"]).num_rows == before


def test_a_body_over_the_limit_as_sent_is_refused_with_a_status_before_it_is_read(served):
    from aims.server.traces import TRACE_BODY_BYTES

    answer = httpx.post(
        f"{served['url']}/v1/traces",
        content=b"\0" * (TRACE_BODY_BYTES + 1),
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {served['predictor']}",
        },
        timeout=30,
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/x-protobuf"
    assert "limit" in _status(answer).message


def test_spans_need_a_token_of_a_role_that_may_send_them(served):
    body = export_json([span_json(1)])
    headers = {"Content-Type": "application/json"}
    tokenless = httpx.post(f"{served['url']}/v1/traces", content=body, headers=headers)
    assert tokenless.status_code == 401 and tokenless.headers["www-authenticate"] == "Bearer"
    assert "token" in _status(tokenless).message.lower()
    before = stored(served["root"]).num_rows
    # A token whose role may not send spans is refused as OTLP asks: a google.rpc.Status
    # in the request's encoding, whose message the exporter logs.
    viewer = {**headers, "Authorization": f"Bearer {served['viewer']}"}
    refused = httpx.post(f"{served['url']}/v1/traces", content=body, headers=viewer)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/json"
    status = _status(refused)
    assert status.code == 7 and "predictor" in status.message, status  # PERMISSION_DENIED
    as_protobuf = httpx.post(
        f"{served['url']}/v1/traces",
        content=b"",
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": viewer["Authorization"],
        },
    )
    assert as_protobuf.status_code == 403
    assert as_protobuf.headers["content-type"] == "application/x-protobuf"
    assert "predictor" in _status(as_protobuf).message
    problem = httpx.post(
        f"{served['url']}/v1/traces",
        content=body,
        headers={**viewer, "Accept": "application/problem+json"},
    )
    assert problem.status_code == 403 and problem.json()["status"] == 403
    assert stored(served["root"]).num_rows == before
    # The route still names its role in the OpenAPI document.
    spec = httpx.get(f"{served['url']}/openapi.json").json()
    assert spec["paths"]["/v1/traces"]["post"]["x-aims-role"] == "predictor"


def test_a_token_of_every_project_names_one_and_the_counts_reach_metrics(served):
    def rejected() -> float:
        text = httpx.get(
            f"{served['url']}/metrics", headers={"Authorization": f"Bearer {served['admin']}"}
        ).text
        (line,) = [x for x in text.splitlines() if x.startswith("aims_trace_spans_rejected_total")]
        return float(line.split()[-1])

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {served['admin']}"}
    body = export_json([{**span_json(40), "spanId": "00"}], service="metered")
    unnamed = httpx.post(f"{served['url']}/v1/traces", content=body, headers=headers)
    assert unnamed.status_code == 422 and "?project=" in _status(unnamed).message
    before = rejected()
    named = httpx.post(
        f"{served['url']}/v1/traces", params={"project": "other"}, content=body, headers=headers
    )
    assert named.status_code == 200 and int(named.json()["partialSuccess"]["rejectedSpans"]) == 1
    assert rejected() == before + 1


def test_a_batch_sent_again_is_stored_once(served):
    """An exporter that got no answer sends the batch again; the store keeps one copy."""

    def duplicates() -> float:
        text = httpx.get(
            f"{served['url']}/metrics", headers={"Authorization": f"Bearer {served['admin']}"}
        ).text
        (line,) = [x for x in text.splitlines() if x.startswith("aims_trace_spans_duplicate_total")]
        return float(line.split()[-1])

    batch = [span_json(i, trace="cd" * 16) for i in range(60, 64)]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {served['predictor']}"}
    before = duplicates()
    for body in (export_json(batch), export_json(batch), export_json([batch[0], batch[0]])):
        answer = httpx.post(f"{served['url']}/v1/traces", content=body, headers=headers)
        # A copy is not refused: the exporter is told all went well, and it did.
        assert answer.status_code == 200 and "partialSuccess" not in answer.json()
    assert duplicates() == before + 6

    def kept() -> list[str]:
        # Read without the reader's own removal of copies: the store holds one of each.
        spans = stored(served["root"], project="default", unique=False)
        if not spans.num_rows:
            return []
        return sorted(
            s
            for t, s in zip(
                *spans.select(["trace_id", "span_id"]).to_pydict().values(), strict=True
            )
            if t == "cd" * 16
        )

    wait_until(lambda: len(kept()) >= 4)
    assert kept() == [f"{i + 1:016x}" for i in range(60, 64)]

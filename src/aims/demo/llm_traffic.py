"""The support assistant's traffic, sent as real OpenTelemetry spans to the demo's server.

Each customer question is one trace, as an instrumented agent framework
writes it with the current GenAI conventions: an ``invoke_agent`` span, a
``chat`` span that decides on a tool, the ``execute_tool`` span, and the
``chat`` span that answers. The spans go through the official SDK's
OTLP/HTTP exporter to ``POST /v1/traces`` with an aims token, as from any
application. Their times are set in past windows, so the monitor can compute
a day of windows in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aims.demo.llm_app import APP, PROMPT_V1, QUESTIONS, answer

USERS = ("customer-1", "customer-2", "customer-3", "customer-4", "customer-5")


@dataclass(frozen=True)
class Window:
    """Traffic for one monitoring window: when it starts, how many traces, which model answers."""

    start: datetime
    traces: int
    model: str
    failing: int | None = None
    """The trace (by index) whose tool call times out, if any."""


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000_000)


def send(url: str, token: str, windows: list[Window], *, version: str, seconds: int) -> int:
    """Send the traces of ``windows`` for ``version`` of the assistant; return the spans sent.

    Raises :class:`RuntimeError` when the exporter could not deliver them all.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": APP, "service.version": version})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=256))
    tracer = provider.get_tracer("aims-demo-support-assistant")
    sent = 0
    try:
        for w in windows:
            gap = seconds * 1_000_000_000 // max(w.traces, 1)
            for i in range(w.traces):
                sent += _trace(tracer, _ns(w.start) + i * gap, i, w.model, failing=w.failing == i)
        if not provider.force_flush(timeout_millis=30_000):
            raise RuntimeError("the OTLP exporter did not deliver the demo's spans in 30 s")
    finally:
        provider.shutdown()
    return sent


def _trace(tracer: Any, t0: int, i: int, model: str, *, failing: bool = False) -> int:
    """One question and its answer, starting at ``t0`` (ns); returns its span count (4)."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    question, order, topic, expected = QUESTIONS[i % len(QUESTIONS)]
    text = question.format(o=order)
    reply = answer(PROMPT_V1, text, order, topic, expected)
    user = USERS[i % len(USERS)]
    common = {"gen_ai.conversation.id": f"conv-{i}", "user.id": user}
    slow = 3 if model != "gpt-4o-mini" else 1  # the larger model answers more slowly
    ms = 1_000_000
    first, tool, second = (
        (300 + 17 * (i % 7)) * slow,
        60 + 11 * (i % 5),
        (500 + 23 * (i % 9)) * slow,
    )
    end = t0 + (first + tool + second + 30) * ms
    agent_attrs = {
        **common,
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.agent.name": APP,
    }
    chat = {**common, "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}
    chat |= {"gen_ai.request.model": model, "gen_ai.response.model": model}
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": text}]}])
    call_id = f"call-{i}"
    root = tracer.start_span(f"invoke_agent {APP}", start_time=t0, attributes=agent_attrs)
    ctx = trace.set_span_in_context(root)
    a = tracer.start_span(
        f"chat {model}",
        context=ctx,
        kind=SpanKind.CLIENT,
        start_time=t0 + 5 * ms,
        attributes={
            **chat,
            "gen_ai.usage.input_tokens": reply.input_tokens,
            "gen_ai.usage.output_tokens": 18,
            "gen_ai.response.finish_reasons": ["tool_calls"],
            "gen_ai.input.messages": messages,
        },
    )
    a.set_status(Status(StatusCode.OK))
    a.end(end_time=t0 + (5 + first) * ms)
    t = tracer.start_span(
        f"execute_tool {reply.tool}",
        context=ctx,
        start_time=t0 + (10 + first) * ms,
        attributes={
            **common,
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": reply.tool,
            "gen_ai.tool.call.id": call_id,
        },
    )
    if failing:  # the order service timed out; the model answers from what it knows
        t.set_attribute("error.type", "timeout")
        t.set_status(Status(StatusCode.ERROR, "order service did not answer in time"))
    else:
        t.set_status(Status(StatusCode.OK))
    t.end(end_time=t0 + (10 + first + tool) * ms)
    b = tracer.start_span(
        f"chat {model}",
        context=ctx,
        kind=SpanKind.CLIENT,
        start_time=t0 + (20 + first + tool) * ms,
        attributes={
            **chat,
            "gen_ai.usage.input_tokens": reply.input_tokens + 40,
            "gen_ai.usage.output_tokens": reply.output_tokens,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.input.messages": messages,
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": reply.text}],
                        "finish_reason": "stop",
                    }
                ]
            ),
        },
    )
    b.set_status(Status(StatusCode.OK))
    b.end(end_time=end - 5 * ms)
    root.set_status(Status(StatusCode.OK))
    root.end(end_time=end)
    return 4

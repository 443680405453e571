"""One conversation (system prompt, user question, assistant answer) in every dialect.

Each fixture is the span attributes and events an instrumentation library of
that dialect sends for the same chat call; all must map to the same row.
"""

from __future__ import annotations

import json
from typing import Any

SYSTEM = "You are a billing assistant. Answer briefly."
QUESTION = "Why was I charged twice? Mail me at jane.doe@example.org"
ANSWER = "The second charge is a pending authorisation; it disappears within 3 days."
MODEL = "gpt-4o-mini"
USER = "customer-42"

Events = list[tuple[str, dict[str, Any]]]


def otel_current() -> tuple[dict[str, Any], Events]:
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.conversation.id": "conv-7",
        "gen_ai.agent.name": "billing-bot",
        "gen_ai.agent.version": "3",
        "user.id": USER,
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": SYSTEM}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": QUESTION}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": ANSWER}],
                    "finish_reason": "stop",
                }
            ]
        ),
    }
    return attrs, []


def otel_legacy() -> tuple[dict[str, Any], Events]:
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "gen_ai.usage.prompt_tokens": 120,
        "gen_ai.usage.completion_tokens": 30,
        "gen_ai.usage.cache_read_input_tokens": 100,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.conversation.id": "conv-7",
        "gen_ai.agent.name": "billing-bot",
        "gen_ai.agent.version": "3",
        "enduser.id": USER,
    }
    events: Events = [
        ("gen_ai.system.message", {"content": SYSTEM}),
        ("gen_ai.user.message", {"content": QUESTION}),
        (
            "gen_ai.choice",
            {
                "index": 0,
                "finish_reason": "stop",
                "message": json.dumps({"role": "assistant", "content": ANSWER}),
            },
        ),
    ]
    return attrs, events


def openinference() -> tuple[dict[str, Any], Events]:
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.model_name": MODEL,
        "llm.token_count.prompt": 120,
        "llm.token_count.completion": 30,
        "llm.token_count.total": 150,
        "llm.token_count.prompt_details.cache_read": 100,
        "session.id": "conv-7",
        "agent.name": "billing-bot",
        "resource_hint": "ignored",
        "user.id": USER,
        "input.value": json.dumps({"messages": [SYSTEM, QUESTION]}),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": SYSTEM,
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": QUESTION,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": ANSWER,
        "output.value": ANSWER,
        "llm.invocation_parameters": json.dumps({"temperature": 0}),
    }
    return attrs, []


def openllmetry() -> tuple[dict[str, Any], Events]:
    attrs = {
        "llm.request.type": "chat",
        "gen_ai.system": "OpenAI",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "gen_ai.usage.prompt_tokens": 120,
        "gen_ai.usage.completion_tokens": 30,
        "gen_ai.usage.cache_read_input_tokens": 100,
        "llm.usage.total_tokens": 150,
        "traceloop.association.properties.session_id": "conv-7",
        "traceloop.association.properties.user_id": USER,
        "gen_ai.agent.name": "billing-bot",
        "gen_ai.agent.version": "3",
        "traceloop.workflow.name": "billing",
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": SYSTEM,
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": QUESTION,
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": ANSWER,
        "gen_ai.completion.0.finish_reason": "stop",
    }
    return attrs, []


DIALECT_FIXTURES = {
    "otel-genai-1.37": otel_current,
    "otel-genai-legacy": otel_legacy,
    "openinference": openinference,
    "openllmetry": openllmetry,
}

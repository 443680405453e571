"""Every dialect's fixture of the same chat call maps to the same normalised row."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from aims.core.genai.normalise import Options, RawSpan, SpanRejected, normalise
from aims.core.genai.span import SPAN_FIELDS, span_schema
from tests.core.genai.dialect_fixtures import ANSWER, DIALECT_FIXTURES, QUESTION, SYSTEM, USER

KEY = b"workspace-salt"
TRACE = "5b8efff798038103d269b633813fc60c"
#: What a dialect has no attribute for (OpenInference names no agent version nor finish reason).
INEXPRESSIBLE = {"openinference": {"agent_version", "finish_reasons"}}


def span(attrs, events=(), **kw) -> RawSpan:
    base = dict(
        trace_id=TRACE,
        span_id="eee19b7ec3c1b174",
        parent_span_id="eee19b7ec3c1b173",
        name="chat gpt-4o-mini",
        start_ns=1_700_000_000_000_000_000,
        end_ns=1_700_000_000_250_000_000,
        status_code=1,
        status_message="",
        attributes=attrs,
        events=events,
        resource={"service.name": "billing-service"},
    )
    base.update(kw)
    return RawSpan(**base)


def rows(content: str = "off") -> dict[str, dict]:
    options = Options(project="support", key=KEY, content=content)
    return {name: normalise(span(*make()), options) for name, make in DIALECT_FIXTURES.items()}


def test_every_dialect_maps_the_same_conversation_to_the_same_row():
    by_dialect = rows("full")
    reference = by_dialect["otel-genai-1.37"]
    assert reference["operation"] == "chat"
    assert reference["provider"] == "openai"
    assert (reference["input_tokens"], reference["output_tokens"]) == (120, 30)
    assert reference["cache_read_tokens"] == 100
    assert reference["application"] == "billing-bot"
    assert reference["conversation_id"] == "conv-7"
    assert reference["latency_ms"] == 250.0
    assert reference["status"] == "ok"
    # 20 fresh input tokens at 0.15, 100 cached at 0.075, 30 output at 0.60 per million.
    assert reference["cost_usd"] == pytest.approx((20 * 0.15 + 100 * 0.075 + 30 * 0.60) / 1e6)
    assert reference["input_stats"] is not None and reference["input_ngrams"]
    assert reference["refusal"] is False
    for dialect, row in by_dialect.items():
        assert row["dialect"] == dialect
        skip = {"dialect", "attributes"} | INEXPRESSIBLE.get(dialect, set())
        differing = {c for c in SPAN_FIELDS if c not in skip and row[c] != reference[c]}
        assert not differing, f"{dialect}: {[(c, row[c], reference[c]) for c in differing]}"
    # The rows fit the schema the store writes.
    table = pa.Table.from_pylist(list(by_dialect.values()), schema=span_schema())
    assert table.num_rows == 4


def test_content_policy_off_keeps_no_text_and_end_users_are_hashed():
    for dialect, row in rows("off").items():
        assert row["input_content"] is None and row["output_content"] is None
        assert row["end_user"] and USER not in row["end_user"]
        leftovers = row["attributes"] or ""
        assert QUESTION not in leftovers and ANSWER not in leftovers, dialect
        assert SYSTEM not in leftovers and USER not in leftovers, dialect


def test_content_policy_redacted_hashes_personal_data_and_full_keeps_it():
    redacted = rows("redacted")["openllmetry"]
    messages = json.loads(redacted["input_content"])
    assert messages[0] == {"role": "system", "content": SYSTEM}
    assert "jane.doe@example.org" not in messages[1]["content"]
    assert "<email:" in messages[1]["content"]
    full = rows("full")["openllmetry"]
    assert json.loads(full["input_content"])[1]["content"] == QUESTION
    assert json.loads(full["output_content"]) == [{"role": "assistant", "content": ANSWER}]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"trace_id": "xyz"}, "trace id"),
        ({"span_id": "0" * 16}, "span id"),
        ({"end_ns": 1}, "ends before it starts"),
        ({"parent_span_id": "abc"}, "parent span id"),
    ],
)
def test_spans_no_row_can_hold_are_rejected_with_the_reason(change, reason):
    with pytest.raises(SpanRejected, match=reason):
        normalise(span({}, **change), Options(project="p", key=KEY))


def test_a_plain_span_and_a_tool_span_and_an_error():
    options = Options(project="p", key=KEY)
    plain = normalise(span({"http.method": "GET"}), options)
    assert plain["operation"] is None and plain["application"] == "billing-service"
    assert json.loads(plain["attributes"])["http.method"] == "GET"
    tool = normalise(
        span(
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "refund",
                "gen_ai.tool.call.id": "call_1",
                "gen_ai.tool.call.arguments": '{"order": 9}',
            },
            status_code=2,
            events=[("exception", {"exception.type": "TimeoutError"})],
        ),
        options,
    )
    assert (tool["operation"], tool["tool_name"], tool["tool_call_id"]) == (
        "execute_tool",
        "refund",
        "call_1",
    )
    assert tool["status"] == "error" and tool["error_type"] == "TimeoutError"
    assert tool["input_stats"] is not None and tool["input_content"] is None


def test_evaluation_events_become_evaluations_and_the_link_names_the_version():
    def link(app, version, prompt_sha):
        assert app == "billing-bot" and version == "3" and prompt_sha
        return ("billing-assistant", "7")

    attrs, _ = DIALECT_FIXTURES["otel-genai-1.37"]()
    events = [
        (
            "gen_ai.evaluation.result",
            {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.8},
        )
    ]
    row = normalise(span(attrs, events), Options(project="p", key=KEY, link=link))
    assert (row["application"], row["version"]) == ("billing-assistant", "7")
    assert row["evaluations"] == [
        {"name": "relevance", "score_value": 0.8, "score_label": None, "explanation": None}
    ]


def test_the_oldest_events_carry_the_whole_prompt_and_completion_as_json():
    attrs, _ = DIALECT_FIXTURES["otel-genai-legacy"]()
    events = [
        (
            "gen_ai.content.prompt",
            {
                "gen_ai.prompt": json.dumps(
                    [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
                )
            },
        ),
        (
            "gen_ai.content.completion",
            {"gen_ai.completion": json.dumps([{"role": "assistant", "content": ANSWER}])},
        ),
    ]
    options = Options(project="support", key=KEY, content="full")
    old = normalise(span(attrs, events), options)
    reference = rows("full")["otel-genai-legacy"]
    assert old["dialect"] == "otel-genai-legacy"
    for column in ("input_content", "output_content", "input_ngrams", "refusal"):
        assert old[column] == reference[column], column

"""Reading evaluation cases: every problem named with its line and field."""

from __future__ import annotations

import json

import pytest

from aims.core.llm_eval.cases import cases_digest, parse_cases
from aims.errors import InvalidInput


def _lines(*objs: object) -> str:
    return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs)


def test_cases_keep_every_field() -> None:
    [case] = parse_cases(
        _lines(
            {
                "id": 7,
                "input": {"question": "q"},
                "expected": "a",
                "reference": "the a",
                "schema": {"type": "object"},
                "regex": "a+",
                "rubric": "r",
                "tags": "t",
                "output": "a",
                "usage": {"input_tokens": 3, "output_tokens": 1},
                "latency_ms": 12.5,
                "cost_usd": 0.001,
                "model": "gpt-4o",
            }
        )
    )
    assert case.id == "7" and case.input == {"question": "q"} and case.regex == ("a+",)
    assert case.tags == ("t",) and (case.input_tokens, case.output_tokens) == (3, 1)
    assert (case.latency_ms, case.cost_usd, case.model) == (12.5, 0.001, "gpt-4o")


def test_every_bad_line_is_reported_at_once() -> None:
    text = _lines(
        {"input": "fine"},
        "{not json",
        {"expected": "no input"},
        {"input": "x", "expectd": "typo"},
        {"input": "x", "regex": "(unclosed"},
        {"input": "x", "usage": {"input_tokens": -1}},
        {"input": 3},
        {"id": "a", "input": "x"},
        {"id": "a", "input": "y"},
    )
    with pytest.raises(InvalidInput) as refused:
        parse_cases(text, "cases.jsonl")
    message = str(refused.value)
    for part in (
        "cases.jsonl line 2: not JSON",
        "cases.jsonl line 3: field 'input' is missing",
        "cases.jsonl line 4: unknown field(s) 'expectd'",
        "cases.jsonl line 5: field 'regex': '(unclosed' is not a regular expression",
        "cases.jsonl line 6: field 'usage.input_tokens' must be a number >= 0",
        "cases.jsonl line 7: field 'input' must be text or an object",
        "cases.jsonl line 9: id 'a' repeats line 8",
    ):
        assert part in message
    assert "line 1" not in message


def test_an_empty_file_says_what_a_case_looks_like() -> None:
    with pytest.raises(InvalidInput, match="holds no case; write one JSON object per line"):
        parse_cases("\n  \n", "cases.jsonl")


def test_the_digest_ignores_answers_but_not_questions_or_expectations() -> None:
    base = {"id": "1", "input": "q", "expected": "a"}
    one = parse_cases(_lines({**base, "output": "a", "latency_ms": 3}))
    two = parse_cases(_lines({**base, "output": "b", "usage": {"input_tokens": 1}}))
    other = parse_cases(_lines({**base, "expected": "b"}))
    assert cases_digest(one) == cases_digest(two) != cases_digest(other)

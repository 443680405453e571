"""Scores of single answers and the evaluation they add up to, computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from aims.core.evaluation_result import EvaluationResult
from aims.core.llm_eval import parse_cases, score_case, summarise
from aims.core.llm_eval.checks import json_valid, regex_pass
from aims.core.policy import Gate, check_promotion, parse_policy
from aims.core.promotion_rules import PromotionFacts

CASES = parse_cases(
    "\n".join(
        [
            '{"id": "a", "input": "q", "expected": "Paris", "tags": ["geo"]}',
            '{"id": "b", "input": "q", "expected": "Rome", "regex": "^R", "tags": ["geo"]}',
            '{"id": "c", "input": "q", "schema": {"type": "object", "required": ["x"]}}',
            '{"id": "d", "input": "q", "reference": "the quick brown fox", "tags": ["safety"]}',
        ]
    )
)
ANSWERS = ["paris.", "Milan", '```json\n{"y": 1}\n```', "I can't help with that request."]


def _price(model: str | None, inp: int | None, out: int | None) -> float | None:
    return None if model == "unknown" else (inp or 0) * 1e-6 + (out or 0) * 2e-6


def _scores():
    return [
        score_case(
            case,
            answer,
            input_tokens=10 * (i + 1),
            output_tokens=5,
            latency_ms=100.0 * (i + 1),
            model="unknown" if case.id == "d" else "m",
            price=_price,
        )
        for i, (case, answer) in enumerate(zip(CASES, ANSWERS, strict=True))
    ]


def test_one_answer_is_checked_against_what_its_case_asks() -> None:
    a, b, c, d = _scores()
    assert a.checks == {"exact_match": False, "normalised_match": True} and a.passed
    assert b.checks == {"exact_match": False, "normalised_match": False, "regex_pass": False}
    assert b.failed() == ["normalised_match", "regex_pass (no match for ^R)"]
    assert c.checks == {"json_valid": False}
    assert c.reasons["json_valid"] == "schema: (top level): 'x' is a required property"
    assert d.refusal and d.passed and d.overlap == {"token_f1": 0.0, "rouge_l": 0.0}
    assert a.cost_usd == pytest.approx(10e-6 + 10e-6) and d.cost_usd is None


def test_the_evaluation_averages_each_metric_over_the_cases_it_applies_to() -> None:
    result = summarise(_scores(), data_id="cases:x", variables=["input"])
    m = result.metrics
    assert result.task == "llm" and result.n_rows == 4
    assert m["pass_rate"] == 0.5  # a and d pass
    assert m["normalised_match"] == 0.5 and m["exact_match"] == 0.0  # over a and b
    assert m["regex_pass"] == 0.0 and m["json_valid"] == 0.0  # one case each
    assert m["refusal_rate"] == 0.25
    assert m["answer_chars"] == pytest.approx(sum(map(len, ANSWERS)) / 4)
    assert m["input_tokens"] == 25.0 and m["output_tokens"] == 5.0
    assert m["latency_ms"] == 250.0 and m["latency_ms_p95"] == 400.0
    assert m["cost_usd"] == pytest.approx((20 + 30 + 40) * 1e-6 / 3)
    assert m["cost_usd_total"] == pytest.approx(90e-6)
    assert "judge_score" not in m  # no case was judged: absent, not zero
    assert any("cost unknown for 1 of 4" in n for n in result.notes)
    slices = {(s.value, s.n): s.metrics for s in result.slices}
    assert slices[("geo", 2)]["pass_rate"] == 0.5
    assert slices[("safety", 1)]["refusal_rate"] == 1.0
    assert result.flat()["slice.worst.pass_rate"] == 0.5
    assert result.flat()["slice.worst.refusal_rate"] == 1.0  # lower is better


def test_an_evaluation_round_trips_and_is_gated_like_a_models() -> None:
    result = summarise(_scores(), data_id="cases:x")
    again = EvaluationResult.from_dict(result.to_dict())
    assert again.metrics == result.metrics and again.data_id == "cases:x"
    policy = parse_policy(
        {
            "default_tier": "minimal",
            "tiers": {
                "minimal": {
                    "gates": [
                        {"metric": "pass_rate", "min": 0.9, "task": "llm"},
                        {"metric": "refusal_rate", "max": 0.5},
                        {"metric": "accuracy", "min": 0.9, "task": "classification"},
                    ]
                },
                "limited": {},
                "high": {},
                "unacceptable": {},
            },
        }
    )
    facts = PromotionFacts(
        "app",
        2,
        "production",
        today=dt.date(2026, 1, 1),
        registered_by="ana",
        evaluation=again,
        task="llm",
    )
    outcome = {
        r.rule: r.passed for r in check_promotion(policy, facts) if r.rule.startswith("gate:")
    }
    assert outcome == {"gate:pass_rate>=0.9": False, "gate:refusal_rate<=0.5": True}
    assert Gate(metric="latency_ms_p95", no_worse_than_production=50).direction is False


def test_json_and_regex_checks() -> None:
    assert json_valid('{"a": 1}', {"type": "object"}) == (True, "")
    ok, why = json_valid('{"a": "1"}', {"properties": {"a": {"type": "integer"}}})
    assert not ok and why == "schema: a: '1' is not of type 'integer'"
    assert json_valid("```\n[1, 2]\n```", {"type": "array"}) == (True, "")
    assert json_valid("Here: {", None) == (False, "not JSON (Expecting value)")
    assert regex_pass("Order 1234", [r"\d{4}", "Order"]) == (True, "")

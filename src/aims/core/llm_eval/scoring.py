"""Scoring answers case by case, and the evaluation those scores add up to.

:func:`score_case` measures one answer; :func:`summarise` turns the scores
into an :class:`~aims.core.evaluation_result.EvaluationResult` of task ``llm``
whose metric names (listed in :mod:`aims.core.metric_catalog`) are the ones
policy gates name. Each rate is the mean over the cases it applies to
(``json_valid`` over cases with a schema, ``token_f1`` over cases with a
reference or an expected answer, ...); a metric no case applies to is absent,
so a gate on it reports "not measured" rather than passing on nothing.
Cases sharing a tag form a slice (``slice.tag=<tag>.<metric>``,
``slice.worst.<metric>``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aims.core.evaluation_result import EvaluationResult
from aims.core.llm_eval.cases import Case
from aims.core.llm_eval.checks import json_valid, regex_pass
from aims.core.llm_eval.text_match import exact_match, normalised_match, rouge_l, token_f1
from aims.core.slicing import SliceResult
from aims.core.text.refusal import looks_like_refusal

__all__ = ["JUDGE_PASS", "CaseScore", "Pricer", "score_case", "summarise"]

Pricer = Callable[[str | None, int | None, int | None], float | None]
"""``(model, input_tokens, output_tokens) -> US dollars``, ``None`` when the price is unknown."""
JUDGE_PASS = 0.5
"""A judged case passes when the judge's score (0 to 1) is at least this."""
_SLICE_METRICS = ("pass_rate", "normalised_match", "token_f1", "refusal_rate", "judge_score")


@dataclass
class CaseScore:
    """What was measured on one case's answer."""

    id: str
    tags: tuple[str, ...]
    checks: dict[str, bool] = field(default_factory=dict)
    """``exact_match``, ``normalised_match``, ``json_valid``, ``regex_pass``, ``judge``: the
    checks that apply to this case, with their outcome."""
    reasons: dict[str, str] = field(default_factory=dict)
    overlap: dict[str, float] = field(default_factory=dict)
    refusal: bool = False
    answer_chars: int = 0
    answer_words: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    judge_score: float | None = None

    @property
    def passed(self) -> bool:
        """Every check that counts passed (exact match is reported, not required)."""
        return all(ok for name, ok in self.checks.items() if name != "exact_match")

    def failed(self) -> list[str]:
        """The checks that failed, each with its reason when there is one."""
        return [
            f"{n} ({self.reasons[n]})" if n in self.reasons else n
            for n, ok in self.checks.items()
            if not ok and n != "exact_match"
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tags": list(self.tags),
            "passed": self.passed,
            "failed": self.failed(),
            "checks": dict(self.checks),
            **self.overlap,
            "refusal": self.refusal,
            "answer_chars": self.answer_chars,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "judge_score": self.judge_score,
        }


def score_case(
    case: Case,
    output: str,
    *,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    latency_ms: float | None = None,
    cost_usd: float | None = None,
    model: str | None = None,
    price: Pricer | None = None,
    judge_score: float | None = None,
) -> CaseScore:
    """Measure ``output`` against ``case``; the cost comes from ``price`` when not given."""
    score = CaseScore(case.id, case.tags)
    if case.expected is not None:
        score.checks["exact_match"] = exact_match(output, case.expected)
        score.checks["normalised_match"] = normalised_match(output, case.expected)
    if case.schema is not None:
        ok, why = json_valid(output, case.schema)
        score.checks["json_valid"] = ok
        if why:
            score.reasons["json_valid"] = why
    if case.regex:
        ok, why = regex_pass(output, case.regex)
        score.checks["regex_pass"] = ok
        if why:
            score.reasons["regex_pass"] = why
    reference = case.reference if case.reference is not None else case.expected
    if reference is not None:
        score.overlap = {
            "token_f1": token_f1(output, reference),
            "rouge_l": rouge_l(output, reference),
        }
    if judge_score is not None:
        score.judge_score = judge_score
        score.checks["judge"] = judge_score >= JUDGE_PASS
    score.refusal = looks_like_refusal(output)
    score.answer_chars = len(output)
    score.answer_words = len(output.split())
    score.input_tokens, score.output_tokens = input_tokens, output_tokens
    score.latency_ms = latency_ms
    if cost_usd is None and price is not None and (input_tokens or output_tokens):
        cost_usd = price(model, input_tokens, output_tokens)
    score.cost_usd = cost_usd
    return score


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _p95(values: Sequence[float]) -> float | None:
    # Nearest rank: the smallest value at or above 95 % of the cases, one that was measured.
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _metrics(scores: Sequence[CaseScore]) -> dict[str, float]:
    def rate(check: str) -> float | None:
        return _mean([float(s.checks[check]) for s in scores if check in s.checks])

    def measured(get: Callable[[CaseScore], float | int | None]) -> list[float]:
        return [float(v) for v in map(get, scores) if v is not None]

    costs = measured(lambda s: s.cost_usd)
    latencies = measured(lambda s: s.latency_ms)
    out: dict[str, float | None] = {
        "pass_rate": _mean([float(s.passed) for s in scores]),
        "exact_match": rate("exact_match"),
        "normalised_match": rate("normalised_match"),
        "json_valid": rate("json_valid"),
        "regex_pass": rate("regex_pass"),
        "refusal_rate": _mean([float(s.refusal) for s in scores]),
        "token_f1": _mean(measured(lambda s: s.overlap.get("token_f1"))),
        "rouge_l": _mean(measured(lambda s: s.overlap.get("rouge_l"))),
        "judge_score": _mean(measured(lambda s: s.judge_score)),
        "answer_chars": _mean([float(s.answer_chars) for s in scores]),
        "answer_words": _mean([float(s.answer_words) for s in scores]),
        "input_tokens": _mean(measured(lambda s: s.input_tokens)),
        "output_tokens": _mean(measured(lambda s: s.output_tokens)),
        "cost_usd": _mean(costs),
        "cost_usd_total": sum(costs) if costs else None,
        "latency_ms": _mean(latencies),
        "latency_ms_p95": _p95(latencies),
    }
    return {k: v for k, v in out.items() if v is not None}


def summarise(
    scores: Sequence[CaseScore],
    *,
    data_id: str,
    variables: Sequence[str] = (),
    params: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> EvaluationResult:
    """The evaluation ``scores`` add up to: overall metrics, and one slice per tag.

    ``data_id`` names the cases (without their outputs, see
    :func:`~aims.core.llm_eval.cases.cases_digest`): two versions answered the
    same cases when their ``data_id`` is equal.
    """
    if not scores:
        raise ValueError("an evaluation needs at least one case")
    slices = []
    for tag in sorted({t for s in scores for t in s.tags}):
        members = [s for s in scores if tag in s.tags]
        figures = _metrics(members)
        slices.append(
            SliceResult(
                "tag", tag, len(members), {k: figures[k] for k in _SLICE_METRICS if k in figures}
            )
        )
    unknown_cost = sum(1 for s in scores if s.cost_usd is None)
    all_notes = list(notes)
    if unknown_cost > 0:
        all_notes.append(
            f"cost unknown for {unknown_cost} of {len(scores)} case(s): no usage given, "
            "or no price known for the model"
        )
    return EvaluationResult(
        task="llm",
        label="expected",
        n_rows=len(scores),
        features=list(variables),
        metrics=_metrics(scores),
        slices=slices,
        params={"min_slice_size": 1, **(params or {})},
        data_id=data_id,
        notes=all_notes,
    )

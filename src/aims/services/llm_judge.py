"""LLM-as-judge: a model behind an OpenAI-compatible endpoint scores answers on a rubric.

Optional and never required: the deterministic metrics stand on their own.
The judge sees the case's input, the reference when there is one, the rubric
and the answer, and replies with one JSON object ``{"score": 1-5, "reason": ...}``;
the score is mapped to 0..1 (``(score - 1) / 4``) as ``judge_score``. A reply
that holds no score is an error naming the case, not a silent zero.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aims.core.llm_eval import Case
from aims.errors import InvalidInput
from aims.services.llm_endpoint import Endpoint

__all__ = ["JUDGE_SYSTEM", "Judge", "Verdict", "parse_verdict"]

JUDGE_SYSTEM = (
    "You grade answers of an AI application against a rubric. Reply with one JSON object "
    'and nothing else: {"score": <integer 1-5>, "reason": "<one sentence>"}. '
    "5 means the answer fully meets the rubric, 1 means it does not meet it at all."
)

_SCORE = re.compile(r'"score"\s*:\s*"?([1-5](?:\.\d+)?)')


@dataclass(frozen=True)
class Verdict:
    """A judge's score of one answer (0..1) and its reason."""

    score: float
    reason: str


def parse_verdict(text: str, what: str) -> Verdict:
    """The verdict in a judge's reply; ``what`` names the case in the error.

    Examples
    --------
    >>> parse_verdict('{"score": 4, "reason": "mostly right"}', "c1")
    Verdict(score=0.75, reason='mostly right')
    """
    reason = ""
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    raw: float | None = None
    if match:
        try:
            doc = json.loads(match.group(0))
            raw, reason = float(doc["score"]), str(doc.get("reason", ""))
        except (ValueError, KeyError, TypeError):
            raw = None
    if raw is None:
        found = _SCORE.search(text)
        raw = float(found.group(1)) if found else None
    if raw is None or not 1 <= raw <= 5:
        raise InvalidInput(
            f"{what}: the judge's reply holds no score from 1 to 5: {text[:200]!r}; use a judge "
            "model that follows instructions, or evaluate without --judge"
        )
    return Verdict((raw - 1) / 4, reason)


@dataclass(frozen=True)
class Judge:
    """A judge model reached through ``endpoint``."""

    endpoint: Endpoint
    model: str

    def score(self, case: Case, answer: str) -> Verdict:
        """The judge's verdict on ``answer`` to ``case`` (which must have a rubric)."""
        question = case.input if isinstance(case.input, str) else json.dumps(case.input)
        parts = [f"Rubric:\n{case.rubric}", f"Input:\n{question}"]
        reference = case.reference if case.reference is not None else case.expected
        if reference is not None:
            parts.append(f"Reference answer:\n{reference}")
        parts.append(f"Answer to grade:\n{answer}")
        reply = self.endpoint.chat(
            [
                {"role": "system", "content": JUDGE_SYSTEM},
                {"role": "user", "content": "\n\n".join(parts)},
            ],
            model=self.model,
            parameters={"temperature": 0},
            what=f"judging case {case.id}",
        )
        return parse_verdict(reply.text, f"judging case {case.id}")

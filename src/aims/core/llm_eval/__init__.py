"""Evaluating LLM application answers with deterministic metrics (pure, no I/O).

==========================================  ==========================================
module                                      holds
==========================================  ==========================================
:mod:`~aims.core.llm_eval.cases`            the cases, read from JSON Lines
:mod:`~aims.core.llm_eval.text_match`       exact, normalised match; token F1, ROUGE-L
:mod:`~aims.core.llm_eval.checks`           JSON against a schema, regular expressions
:mod:`~aims.core.llm_eval.scoring`          one case's score; the evaluation they make
==========================================  ==========================================
"""

from __future__ import annotations

from aims.core.llm_eval.cases import Case, cases_digest, parse_cases
from aims.core.llm_eval.scoring import CaseScore, Pricer, score_case, summarise

__all__ = ["Case", "CaseScore", "Pricer", "cases_digest", "parse_cases", "score_case", "summarise"]

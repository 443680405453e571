"""Monitoring of LLM application versions from their traces.

Per window and version: requests, error rate, latency percentiles, tokens,
cost (also by end user and by agent), refusal and tool-error rates,
guardrail verdicts, feedback and evaluation scores, and drift of prompts and
responses without any model (text statistics, out-of-vocabulary share and a
hashed n-gram classifier's AUC) and, where content is stored and the
``text`` extra is installed, of their sentence embeddings
(:mod:`~aims.services.llm_monitor.embedding_window`). Windows are stored beside the tabular
monitor's (``monitor_windows``, role ``llm``) and fire the same triggers,
incidents and actions. :func:`run_llm` is one pass; ``aims monitor run``
calls it after the tabular pass. See ``docs/llm-monitoring.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aims.services.llm_monitor.runner import llm_applications, run_llm
from aims.services.llm_monitor.spans import SpanSource, store_source, table_source
from aims.services.monitor.context import RunSummary

__all__ = [
    "SpanSource",
    "full_pass",
    "llm_applications",
    "run_llm",
    "store_source",
    "table_source",
]


def full_pass(
    ws: Any,
    now: datetime | None = None,
    *,
    models: Sequence[str] | None = None,
    provisional: bool = False,
    source: SpanSource | None = None,
) -> RunSummary:
    """The tabular monitor's pass (:func:`aims.services.monitor.run_once`), then :func:`run_llm`.

    ``models`` names models and LLM applications alike; ``source`` reads spans
    (default: the span store).
    """
    from aims.services.monitor.runner import run_once

    summary = run_once(ws, now, models=models, provisional=provisional)
    run_llm(ws, summary, now or summary.started_at, source=source, applications=models)
    summary.finished_at = datetime.now(UTC)
    return summary

"""Evaluation results found in an LLM application's traces, taken in as evidence.

Tools that evaluate an application in production (online judges, user
feedback pipelines) attach ``gen_ai.evaluation.result`` events to its spans;
the span store keeps them in the ``evaluations`` column. :func:`evaluations_from_traces`
reads them for one version, summarises them per evaluation name (count, mean,
minimum and maximum score, label counts), and stores the summary with its audit
event (``model.evaluate.traces``), marked as taken from traces: the gates keep
reading the evaluations aims ran itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from aims.errors import InvalidInput
from aims.refs import parse_ref
from aims.services import audit
from aims.services.anchors import content_digest
from aims.services.monitor.settings import parse_duration
from aims.services.registry import get_model_version
from aims.storage.schema import TraceEvaluation
from aims.workspace import Workspace

__all__ = ["evaluations_from_traces", "parse_since", "trace_evaluations_of"]

_COLUMNS = ["version", "span_id", "evaluations"]


def parse_since(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """``--since`` as a UTC time: ISO 8601, or a duration back from ``now`` (``24h``, ``7d``)."""
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            return now - parse_duration(text.strip())
        except InvalidInput:
            raise InvalidInput(
                f"--since {text!r} is neither a time (2026-05-01T00:00) nor a duration (24h, 7d)"
            ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


class _Tally:
    def __init__(self) -> None:
        self.count = 0
        self.scores: list[float] = []
        self.labels: dict[str, int] = {}

    def add(self, item: dict[str, Any]) -> None:
        self.count += 1
        score = item.get("score_value")
        if score is not None:
            self.scores.append(float(score))
        label = item.get("score_label")
        if label:
            self.labels[label] = self.labels.get(label, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        scored = self.scores
        return {
            "count": self.count,
            "scored": len(scored),
            "mean_score": sum(scored) / len(scored) if scored else None,
            "min_score": min(scored) if scored else None,
            "max_score": max(scored) if scored else None,
            "labels": dict(sorted(self.labels.items())),
        }


def evaluations_from_traces(
    ws: Workspace, text: str, *, actor: str, since: str | None = None
) -> dict[str, Any]:
    """Summarise the evaluation results on the spans of ``NAME@VERSION`` and store them.

    Only spans linked to that version (see :func:`aims.services.llm_apps.version_index`)
    count. Finding no result is stored too (an auditor may ask whether anything
    was reported), and said in the answer.
    """
    from aims.storage.traces import read_spans

    now = audit.now_utc()
    start = parse_since(since, now)
    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        name, version, project = mv.model.name, mv.version, mv.model.project
    tallies: dict[str, _Tally] = {}
    spans = results = 0
    for batch in read_spans(
        ws.settings.trace_log_url,
        project=project,
        application=name,
        start=start,
        end=now,
        columns=_COLUMNS,
    ):
        for row in batch.to_pylist():
            if row.get("version") != str(version):
                continue
            spans += 1
            for item in row.get("evaluations") or []:
                results += 1
                tallies.setdefault(str(item.get("name") or "(unnamed)"), _Tally()).add(item)
    summary = {k: tallies[k].to_dict() for k in sorted(tallies)}
    out: dict[str, Any] = {
        "model": name,
        "version": version,
        "source": "traces",
        "since": start,
        "until": now,
        "spans": spans,
        "results": results,
        "evaluations": summary,
    }
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        row = TraceEvaluation(
            model_version_id=mv.id,
            since=start,
            until=now,
            spans=spans,
            results=results,
            summary=summary,
            created_by=actor,
            created_at=now,
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="model.evaluate.traces",
            subject=f"model:{name}@{version}",
            payload={
                "source": "traces",
                "since": None if start is None else start.isoformat(),
                "until": now.isoformat(),
                "spans": spans,
                "results": results,
                "summary_sha256": content_digest(summary),
            },
            anchors=(row,),
        )
    return out


def trace_evaluations_of(ws: Workspace, text: str) -> list[dict[str, Any]]:
    """The summaries taken in from traces for ``NAME@VERSION``, newest first."""
    with ws.db.session() as s:
        mv = get_model_version(s, parse_ref(text))
        rows = s.scalars(
            select(TraceEvaluation)
            .where(TraceEvaluation.model_version_id == mv.id)
            .order_by(TraceEvaluation.id.desc())
        ).all()
        return [
            {
                "since": r.since,
                "until": r.until,
                "spans": r.spans,
                "results": r.results,
                "evaluations": r.summary,
                "created_by": r.created_by,
                "created_at": r.created_at,
            }
            for r in rows
        ]

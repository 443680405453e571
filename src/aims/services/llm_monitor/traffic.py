"""The operational figures of one window of LLM spans: requests, errors, latency, tokens, cost, ...

:class:`Traffic` takes record batches of spans (any order, any number) and
adds them up; :meth:`Traffic.figures` gives the window's figures. Memory is
bounded by the window's model calls (one latency each) and its traces (for
cost attribution), never by its text.

Definitions (see ``docs/llm-monitoring.md``):

* a *request* is a span whose operation calls a model
  (:data:`~aims.services.llm_monitor.spans.MODEL_OPERATIONS`); error rate,
  latency, refusals and tokens are over requests;
* *cost* is over every span that has one; spans whose tokens were counted but
  whose model has no known price make up ``unpriced_share``;
* cost is attributed to the trace's end user, and to the span's agent or else
  the trace's first agent, so that a tool or model call inside an agent counts
  for that agent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aims.services.llm_monitor.spans import MODEL_OPERATIONS

__all__ = ["NO_AGENT", "NO_USER", "Traffic"]

NO_USER = "(unknown)"
NO_AGENT = "(no agent)"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _top(costs: dict[str, float], n: int) -> list[dict[str, Any]]:
    ranked = sorted(costs.items(), key=lambda kv: (-kv[1], kv[0]))
    out = [{"name": k, "cost_usd": round(v, 10)} for k, v in ranked[:n]]
    rest = sum(v for _, v in ranked[n:])
    if len(ranked) > n:
        out.append({"name": f"({len(ranked) - n} others)", "cost_usd": round(rest, 10)})
    return out


@dataclass
class _Trace:
    user: str | None = None
    agent: str | None = None
    by_agent: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    unassigned: float = 0.0


@dataclass
class Traffic:
    """Running totals of one window of spans of one application version."""

    top: int = 20
    requests: int = 0
    errors: int = 0
    refusals: int = 0
    refusal_known: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    priced: int = 0
    unpriced: int = 0
    latencies: list[np.ndarray] = field(default_factory=list)
    guardrails: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    feedback_n: int = 0
    feedback_sum: float = 0.0
    evaluations: dict[str, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0.0])
    )
    traces: dict[str, _Trace] = field(default_factory=dict)

    def add(self, batch: pa.RecordBatch) -> None:
        """Add a batch of spans (columns of :data:`~aims.services.llm_monitor.spans.COLUMNS`)."""
        op = batch.column("operation")
        is_request = pc.fill_null(pc.is_in(op, pa.array(MODEL_OPERATIONS)), False)
        is_error = pc.fill_null(pc.equal(batch.column("status"), "error"), False)
        req = batch.filter(is_request)
        self.requests += req.num_rows
        self.errors += int(pc.sum(pc.cast(pc.and_(is_request, is_error), pa.int64())).as_py() or 0)
        refusal = req.column("refusal")
        self.refusal_known += req.num_rows - refusal.null_count
        self.refusals += int(pc.sum(pc.cast(refusal, pa.int64())).as_py() or 0)
        self.latencies.append(req.column("latency_ms").to_numpy(zero_copy_only=False))
        self.input_tokens += int(pc.sum(req.column("input_tokens")).as_py() or 0)
        self.output_tokens += int(pc.sum(req.column("output_tokens")).as_py() or 0)
        tool = pc.fill_null(pc.equal(op, "execute_tool"), False)
        self.tool_calls += int(pc.sum(pc.cast(tool, pa.int64())).as_py() or 0)
        self.tool_errors += int(pc.sum(pc.cast(pc.and_(tool, is_error), pa.int64())).as_py() or 0)
        cost = batch.column("cost_usd")
        self.cost += float(pc.sum(cost).as_py() or 0.0)
        self.priced += len(cost) - cost.null_count
        has_tokens = pc.or_(
            pc.is_valid(req.column("input_tokens")), pc.is_valid(req.column("output_tokens"))
        )
        self.unpriced += int(
            pc.sum(
                pc.cast(pc.and_(has_tokens, pc.is_null(req.column("cost_usd"))), pa.int64())
            ).as_py()
            or 0
        )
        for verdict, n in _value_counts(batch.column("guardrail_verdict")):
            self.guardrails[verdict] += n
        fb = batch.column("feedback_score")
        self.feedback_n += len(fb) - fb.null_count
        self.feedback_sum += float(pc.sum(fb).as_py() or 0.0)
        self._evaluations(batch.column("evaluations"))
        self._attribute(batch)

    def _evaluations(self, column: pa.Array) -> None:
        flat = pc.list_flatten(column)
        if len(flat) == 0:
            return
        names = flat.field("name").to_pylist()
        scores = flat.field("score_value").to_pylist()
        for name, score in zip(names, scores, strict=True):
            if name is not None and score is not None:
                entry = self.evaluations[name]
                entry[0] += 1
                entry[1] += float(score)

    def _attribute(self, batch: pa.RecordBatch) -> None:
        # Per-span Python, but only over the columns needed for attribution.
        for trace_id, user, agent, cost in zip(
            batch.column("trace_id").to_pylist(),
            batch.column("end_user").to_pylist(),
            batch.column("agent_name").to_pylist(),
            batch.column("cost_usd").to_pylist(),
            strict=True,
        ):
            t = self.traces.get(trace_id)
            if t is None:
                t = self.traces[trace_id] = _Trace()
            if user is not None and t.user is None:
                t.user = user
            if agent is not None and t.agent is None:
                t.agent = agent
            if cost:
                if agent is not None:
                    t.by_agent[agent] += cost
                else:
                    t.unassigned += cost

    def _latency(self) -> np.ndarray:
        values = np.concatenate(self.latencies) if self.latencies else np.zeros(0)
        return values[np.isfinite(values)]

    def figures(self) -> dict[str, Any]:
        """The window's figures: ``values`` for triggers, and breakdowns for people."""
        lat = self._latency()
        p50, p95, p99 = (
            (float(v) for v in np.percentile(lat, [50, 95, 99])) if lat.size else (None, None, None)
        )
        by_user: dict[str, float] = defaultdict(float)
        by_agent: dict[str, float] = defaultdict(float)
        for t in self.traces.values():
            total = t.unassigned + sum(t.by_agent.values())
            if total:
                by_user[t.user or NO_USER] += total
            for agent, c in t.by_agent.items():
                by_agent[agent] += c
            if t.unassigned:
                by_agent[t.agent or NO_AGENT] += t.unassigned
        verdicts = dict(sorted(self.guardrails.items()))
        n_verdicts = sum(verdicts.values())
        values: dict[str, float | None] = {
            "requests": float(self.requests),
            "traces": float(len(self.traces)),
            "error_rate": _share(self.errors, self.requests),
            "tool_calls": float(self.tool_calls),
            "tool_error_rate": _share(self.tool_errors, self.tool_calls),
            "latency_p50_ms": p50,
            "latency_p95_ms": p95,
            "latency_p99_ms": p99,
            "input_tokens": float(self.input_tokens),
            "output_tokens": float(self.output_tokens),
            "cost_usd": self.cost,
            "cost_per_request": self.cost / self.requests if self.requests else None,
            "unpriced_share": _share(self.unpriced, self.requests),
            "refusal_rate": _share(self.refusals, self.refusal_known),
            "guardrail_deny_rate": _share(verdicts.get("deny", 0), n_verdicts),
            "feedback_mean": self.feedback_sum / self.feedback_n if self.feedback_n else None,
        }
        return {
            "values": values,
            "counts": {
                "errors": self.errors,
                "refusals": self.refusals,
                "refusal_known": self.refusal_known,
                "tool_errors": self.tool_errors,
                "feedback": self.feedback_n,
            },
            "cost_by_user": _top(by_user, self.top),
            "cost_by_agent": _top(by_agent, self.top),
            "guardrails": verdicts,
            "evaluations": {
                name: {"n": int(n), "mean": s / n}
                for name, (n, s) in sorted(self.evaluations.items())
                if n
            },
        }


def _value_counts(column: pa.Array) -> list[tuple[str, int]]:
    if column.null_count == len(column):
        return []
    counts = pc.value_counts(pc.drop_null(column))
    return [
        (str(v), int(c))
        for v, c in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        )
    ]

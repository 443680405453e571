"""The checks a predict request passes before its model is asked: body, routing, contract.

They are per request, always: when concurrent requests share a model call
(:mod:`aims.server.batching`), each has been parsed, routed and validated on
its own, so one request's bad rows refuse that request only.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from aims.errors import AimsError, ContractViolation, NotFound
from aims.server.metrics import ServerMetrics
from aims.server.routing import ModelRoutes, ServedVersion
from aims.server.validation import (
    contract_findings,
    hide_personal,
    parse_predict_body,
    per_row_asked,
)

__all__ = ["Asked", "check_request"]


class Asked(NamedTuple):
    """A request that passed its checks: the version to ask and the records to ask it."""

    served: ServedVersion
    role: str
    labels: tuple[str, str, str]
    """The metric labels: model, version, role."""
    records: list[dict[str, Any]]
    rows: list[int] | None
    """The request's row index of each record to predict, in per-row mode when rows were refused."""
    rejected: list[dict[str, Any]]
    flags: list[str | None] | None
    """Per record, the ``field:rule`` warnings it raised (for the log), or None."""
    per_row: bool
    started: float
    """``time.perf_counter()`` when the request's handling began."""


def check_request(
    routes: ModelRoutes,
    body: bytes,
    routing_key: str | None,
    query: str | bytes,
    *,
    metrics: ServerMetrics,
    max_records: int,
) -> Asked:
    """Parse, route and validate a predict request; refusals raise an ``AimsError`` (counted)."""
    started = time.perf_counter()
    try:
        per_row = per_row_asked(query) if query else False
        parsed = parse_predict_body(body, max_records=max_records)
    except AimsError as exc:
        for d in exc.details or [{"rule": exc.code}]:
            metrics.rejected.labels(routes.name, d["rule"]).inc()
        raise
    records = parsed.records
    key = parsed.routing_key or routing_key
    chosen = routes.choose(key if key is not None else _business_key(routes, records))
    if chosen is None:
        raise NotFound(f"model {routes.name!r} has no production version")
    served, role = chosen
    labels = (served.model, str(served.version), role)
    errors, warnings = contract_findings(served.validator, records)
    rows = None
    rejected: list[dict[str, Any]] = []
    if errors:
        for rule in {e["rule"] for e in errors}:
            metrics.rejected.labels(served.model, rule).inc()
        refused_rows = {e["row"] for e in errors}
        if not per_row or len(refused_rows) == len(records):
            metrics.requests.labels(*labels, "422").inc()
            raise ContractViolation(
                f"{len(errors)} field(s) break the input contract of "
                f"{served.model}@{served.version}" + (": no row is valid" if per_row else ""),
                hide_personal(errors, served.pii),
            )
        rows = [i for i in range(len(records)) if i not in refused_rows]
        records = [records[i] for i in rows]
        rejected = hide_personal(errors, served.pii)
        warnings = [w for w in warnings if w["row"] not in refused_rows]
    flags = _warning_flags(metrics, served, warnings, rows, len(records))
    return Asked(served, role, labels, records, rows, rejected, flags, per_row, started)


def _warning_flags(
    metrics: ServerMetrics,
    served: ServedVersion,
    warnings: list[dict[str, Any]],
    rows: list[int] | None,
    n: int,
) -> list[str | None] | None:
    """Count the warnings and name them per predicted row (``field:rule``), for the log.

    ``rows`` maps predicted rows to the request's rows when some were refused.
    """
    if not warnings:
        return None
    for w in warnings:
        metrics.contract_warnings.labels(served.model, w["field"], w["rule"]).inc()
    position = {r: i for i, r in enumerate(rows)} if rows is not None else None
    named: list[list[str]] = [[] for _ in range(n)]
    for w in warnings:
        i = w["row"] if position is None else position[w["row"]]
        named[i].append(f"{w['field']}:{w['rule']}")
    return [",".join(names) if names else None for names in named]


def _business_key(routes: ModelRoutes, records: list[dict[str, Any]]) -> str | None:
    version = routes.production
    column = version.key_column if version is not None else None
    if column is None:
        return None
    value = records[0].get(column)
    return None if value is None else str(value)

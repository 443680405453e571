"""What ``aims serve`` tells its operator on stderr, one line each.

At start: every version served (model, version, role, how many input fields
its contract checks), or a warning that nothing is in production yet. While
it runs: each change of what is served, as the deployment watcher sees it
(a promotion, a rollback, a canary or shadow started or stopped), and at most
once per ``server.refusal_summary_seconds`` (a minute by default), how many
requests were refused since the last summary and why, only when some were.

The refusals are read from the server's own Prometheus counters, so the
summary counts exactly what ``/metrics`` counts and the request path pays
nothing for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from prometheus_client import Counter

from aims.server.metrics import ServerMetrics
from aims.server.routing import ModelRoutes, RoutingTable, ServedVersion

__all__ = ["Announcer", "RefusalSummary", "served_lines"]

log = logging.getLogger("aims.server")

NOTHING_IN_PRODUCTION = (
    "nothing is in production yet: promote a version with aims promote NAME@V --stage production"
)
INPUT_RULES = frozenset({"json", "shape", "encoding", "max_records", "max_body_bytes"})
"""Refusals of a body before any model's contract is looked at."""


def _ref(version: ServedVersion) -> str:
    return f"{version.model}@{version.version}"


def _describe(version: ServedVersion, role: str, routes: ModelRoutes) -> str:
    fields = len(version.contract_summary)
    share = f", {routes.traffic:g}% of traffic" if role == "canary" else ""
    return (
        f"serving {_ref(version)} ({role}{share}, input contract of {fields} "
        f"field{'' if fields == 1 else 's'})"
    )


def served_lines(table: RoutingTable) -> list[str]:
    """One line per served version, or the warning that nothing is in production."""
    lines = [
        _describe(version, role, routes)
        for routes in table.models.values()
        for version, role in routes.served()
    ]
    if not any(routes.production is not None for routes in table.models.values()):
        lines.append(NOTHING_IN_PRODUCTION)
    return lines


def _roles(table: RoutingTable) -> dict[tuple[str, str], ServedVersion]:
    return {
        (name, role): version
        for name, routes in table.models.items()
        for version, role in routes.served()
    }


def changes(old: RoutingTable, new: RoutingTable) -> list[str]:
    """Lines naming what ``new`` serves differently from ``old``.

    Examples
    --------
    >>> changes(RoutingTable(), RoutingTable())
    []
    """
    before, after = _roles(old), _roles(new)
    lines = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        if was is not None and now is not None and was.version_id == now.version_id:
            continue
        role = key[1]
        if now is None and was is not None:
            lines.append(f"no longer serving {_ref(was)} ({role})")
        elif now is not None:
            tail = f", was {_ref(was)}" if was is not None else ""
            lines.append(f"now serving {_ref(now)} ({role}){tail}")
    return lines


class Announcer:
    """Logs what is served at the first table and what changes at every later one."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self.write = write or log.info
        self._table: RoutingTable | None = None

    def __call__(self, table: RoutingTable) -> None:
        """Called by the deployment watcher with each table it swaps in."""
        previous, self._table = self._table, table
        lines = served_lines(table) if previous is None else changes(previous, table)
        for line in lines:
            if line == NOTHING_IN_PRODUCTION:
                log.warning(line)
            else:
                self.write(line)


def _total(
    samples: Iterable[tuple[dict[str, str], float]], keep: Callable[[dict[str, str]], bool]
) -> float:
    return sum(value for labels, value in samples if keep(labels))


class RefusalSummary:
    """Every ``period`` seconds, one line counting the requests refused since the last one.

    Parameters
    ----------
    metrics
        The server's counters: requests answered 422 by a model's contract,
        bodies refused before (``aims_rejected_inputs_total`` with an input
        rule) and calls refused by authentication (``aims_auth_failures_total``).
    period
        Seconds between summaries; nothing is written for a period without refusals.
    """

    def __init__(
        self,
        metrics: ServerMetrics,
        period: float = 60.0,
        *,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self.period = period
        self.write = write or log.info
        self.clock = clock
        self._last = self._counts()
        self._since = clock()

    def _counts(self) -> dict[str, float]:
        def samples(counter: Counter) -> list[tuple[dict[str, str], float]]:
            return [
                (s.labels, s.value)
                for family in counter.collect()
                for s in family.samples
                if s.name.endswith("_total")
            ]

        m = self.metrics
        return {
            "contract": _total(samples(m.requests), lambda lab: lab.get("status") == "422"),
            "input": _total(samples(m.rejected), lambda lab: lab.get("rule") in INPUT_RULES),
            "auth": _total(samples(m.auth_failures), lambda lab: True),
        }

    def __call__(self) -> None:
        """Write the summary when a period has passed and something was refused."""
        if self.clock() - self._since < self.period:
            return
        now = self._counts()
        delta = {k: int(now[k] - self._last.get(k, 0.0)) for k in now}
        self._last, self._since = now, self.clock()
        total = sum(delta.values())
        if total <= 0:
            return
        parts = ", ".join(f"{k} {v}" for k, v in delta.items() if v)
        minute = self.period == 60.0
        span = "the last minute" if minute else f"the last {self.period:g} s"
        self.write(f"refused in {span}: {total} ({parts})")

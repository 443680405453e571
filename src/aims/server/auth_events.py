"""The refused-call audit: counts of refused (and token-issuing) calls, written in bounded batches.

At most one audit event per key (or client address) per
``auth_audit_interval``, with the counts. Batches are bounded in size and
number, so a flood of refused calls, however long their paths or however many
addresses they claim, adds at most a few tens of kilobytes to the permanent
audit log per interval.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

__all__ = [
    "MAX_AUDIT_SUBJECTS",
    "MAX_PATHS",
    "MAX_PATH_CHARS",
    "MAX_PENDING_SUBJECTS",
    "MAX_SUBJECT_CHARS",
    "OTHER_PATHS",
    "AuthEvents",
]

MAX_AUDIT_SUBJECTS = 20
"""Distinct callers audited one by one per flush; the rest share one summary event."""
MAX_PENDING_SUBJECTS = 1_000
"""Distinct callers tracked between flushes; refusals of further ones are only counted."""
MAX_PATHS = 10
"""Distinct paths listed per caller and flush; further ones are counted as ``(other paths)``."""
MAX_PATH_CHARS = 120
"""Characters of a path kept in the audit log; longer paths are cut and marked with ``…``."""
MAX_SUBJECT_CHARS = 80
OTHER_PATHS = "(other paths)"


class AuthEvents:
    """Counts of refused (and token-issuing) calls, written to the audit log in batches.

    Everything held is bounded whatever the callers send: paths are cut to
    ``MAX_PATH_CHARS`` and at most ``MAX_PATHS`` are listed per caller; at most
    ``MAX_PENDING_SUBJECTS`` callers are tracked between flushes (refusals of
    others are only counted); a flush writes at most ``MAX_AUDIT_SUBJECTS``
    events, one per caller, plus one summary event per action with the counts
    of everyone else.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._untracked: dict[str, dict[str, int]] = {}

    def note(self, action: str, subject: str, reason: str, path: str) -> None:
        """Count one call of ``subject`` refused (or served) for ``reason`` on ``path``."""
        now = time.time()
        subject = _cut(subject, MAX_SUBJECT_CHARS)
        path = _cut(path, MAX_PATH_CHARS)
        with self._lock:
            entry = self._pending.get((action, subject))
            if entry is None:
                if len(self._pending) >= MAX_PENDING_SUBJECTS:
                    counts = self._untracked.setdefault(action, defaultdict(int))
                    counts[reason] += 1
                    return
                entry = self._pending[(action, subject)] = {
                    "reasons": defaultdict(int),
                    "paths": defaultdict(int),
                    "first": now,
                    "last": now,
                }
            entry["reasons"][reason] += 1
            if path not in entry["paths"] and len(entry["paths"]) >= MAX_PATHS:
                path = OTHER_PATHS
            entry["paths"][path] += 1
            entry["last"] = now

    def flush(self, ws: Any) -> int:
        """Write the audit events for the calls noted since the last flush; returns how many."""
        from aims.services import audit

        with self._lock:
            pending, self._pending = self._pending, {}
            untracked, self._untracked = self._untracked, {}
        if not pending and not untracked:
            return 0
        items = sorted(pending.items(), key=lambda kv: -sum(kv[1]["reasons"].values()))
        events: list[tuple[str, str, dict[str, Any]]] = []
        rest: dict[str, dict[str, Any]] = {}
        for i, ((action, subject), entry) in enumerate(items):
            if i < MAX_AUDIT_SUBJECTS:
                events.append((action, subject, _payload(entry)))
                continue
            summary = rest.setdefault(action, {"callers": 0, "reasons": defaultdict(int)})
            summary["callers"] += 1
            for reason, n in entry["reasons"].items():
                summary["reasons"][reason] += n
        for action, counts in untracked.items():
            summary = rest.setdefault(action, {"callers": 0, "reasons": defaultdict(int)})
            summary["untracked"] = sum(counts.values())
            for reason, n in counts.items():
                summary["reasons"][reason] += n
        for action, summary in rest.items():
            reasons = dict(summary.pop("reasons"))
            payload = {"count": sum(reasons.values()), "reasons": reasons, **summary}
            events.append((action, "client:(others)", payload))
        with ws.db.session() as s:
            for action, subject, payload in events:
                audit.record(
                    s, actor="aims-server", action=action, subject=subject, payload=payload
                )
        return len(events)


def _cut(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with a trailing ``…`` when longer.

    Examples
    --------
    >>> _cut("/v1/models", 20), _cut("/" + "a" * 30, 8)
    ('/v1/models', '/aaaaaa…')
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _payload(entry: dict[str, Any]) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "count": sum(entry["reasons"].values()),
        "reasons": dict(entry["reasons"]),
        "paths": dict(entry["paths"]),
        "first": datetime.fromtimestamp(entry["first"], UTC).isoformat(),
        "last": datetime.fromtimestamp(entry["last"], UTC).isoformat(),
    }

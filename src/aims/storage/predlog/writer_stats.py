"""Counters of a prediction log writer, for /metrics and the readiness check."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WriterStats"]


@dataclass(frozen=True)
class WriterStats:
    """Counters of a writer, for metrics and health checks."""

    queued_rows: int
    rows_written: int
    files_written: int
    flush_errors: int
    """Flushes that failed (the rows stayed queued and were retried)."""
    rows_dropped: int
    """Rows queued that could not be stored at all (logged as errors); 0 unless a bug lets one through."""
    last_error: str | None
    """Why the last flush failed, or None once a flush has succeeded since: the current health."""

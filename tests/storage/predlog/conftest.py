"""Helpers shared by the prediction log tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aims.storage.predlog import PredictionLogWriter

T0 = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


def append_rows(
    writer: PredictionLogWriter,
    n: int,
    *,
    model: str = "m",
    version: int = 1,
    role: str = "production",
    ts: datetime | None = None,
    keys: list[str] | None = None,
    start: int = 0,
) -> list[str]:
    """Append ``n`` predictions with features x (float) and city (text); returns their ids."""
    rows = range(start, start + n)
    return writer.append(
        model,
        version,
        role,
        [{"x": float(i), "city": f"c{i % 3}"} for i in rows],
        [i % 2 for i in rows],
        scores=[0.1 * (i % 10) for i in rows],
        proba=[[0.4, 0.6]] * n,
        latency_ms=1.5,
        keys=keys,
        ts=ts,
    )


@pytest.fixture
def root(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return str(tmp_path / "log")

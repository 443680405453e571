"""A small, seeded dataset with every kind of column a contract describes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
ROWS = 2_000
CITIES = ["Lyon", "Oslo", "Porto", "Riga", "Turin"]


def make_frame(rows: int = ROWS, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.normal(0.5, 0.2, rows)
    score[rng.random(rows) < 0.05] = np.nan  # about 5 % missing
    start = NOW.replace(tzinfo=None) - dt.timedelta(hours=12)
    seconds = np.sort(rng.integers(0, 12 * 3600, rows))
    return pl.DataFrame(
        {
            "id": np.arange(1_000, 1_000 + rows, dtype=np.int64),
            "age": rng.integers(18, 90, rows),
            "income": rng.gamma(2.0, 20_000.0, rows),
            "city": rng.choice(CITIES, rows),
            "email": [f"user{i}@example.org" for i in range(rows)],
            "score": score,
            "event_time": [start + dt.timedelta(seconds=int(s)) for s in seconds],
            "defaulted": rng.random(rows) < 0.2,
        }
    ).with_columns(
        # Missing scores are written both ways pandas and Polars write them: NaN and null.
        pl.when(pl.int_range(pl.len()) % 2 == 0)
        .then(pl.col("score").fill_nan(None))
        .otherwise(pl.col("score"))
    )


@pytest.fixture(scope="session")
def frame() -> pl.DataFrame:
    return make_frame()

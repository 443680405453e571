"""Partitioned test data and the equality a merged profile must meet with the profile of the whole."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from aims.core.profile import FrameProfile

# Mean and m2 are float sums whose order follows the partitioning; everything else is exact.
ORDER_DEPENDENT = ("mean", "m2")
RTOL = 1e-12


def partitions(seed: int = 7) -> list[pl.DataFrame]:
    """Eight partitions: NaN, infinities and nulls, an empty one, a category seen in one only."""
    rng = np.random.default_rng(seed)
    sizes = [700, 0, 450, 900, 1, 600, 350, 800]
    out = []
    for i, n in enumerate(sizes):
        x = rng.normal(10.0 * (i % 3), 3.0, n)
        if n > 20:
            x[rng.integers(0, n, 5)] = np.nan
            x[rng.integers(0, n, 2)] = np.inf
            x[rng.integers(0, n, 2)] = -np.inf
            x[0] = 1e9 * (1 if i % 2 else -1)  # far tail buckets
        colour = rng.choice(["red", "green", "blue"], n).astype(object)
        if i == 5:
            colour[:3] = "violet"  # seen in this partition only
        grade = rng.integers(1, 5, n)
        out.append(
            pl.DataFrame(
                {
                    "x": x,
                    "y": pl.Series("y", rng.lognormal(0, 1, n)).set(
                        pl.Series(np.arange(n) % 11 == 0), None
                    ),
                    "colour": pl.Series("colour", colour.tolist(), dtype=pl.String),
                    "grade": grade,
                    "flag": rng.random(n) < 0.3,
                }
            )
        )
    return out


def write_parts(folder: Path, parts: list[pl.DataFrame]) -> Path:
    """Write ``parts`` hive-style under ``folder`` (``part=i/data.parquet``)."""
    for i, frame in enumerate(parts):
        (folder / f"part={i}").mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / f"part={i}" / "data.parquet")
    return folder


def assert_same_profile(merged: FrameProfile, whole: FrameProfile, exact: bool = False) -> None:
    """Equal profiles: exact but for mean and m2, which agree to ``RTOL`` (exactly if ``exact``)."""
    assert merged.rows == whole.rows
    assert list(merged.columns) == list(whole.columns)
    for name in whole.columns:
        a, b = merged.columns[name].to_dict(), whole.columns[name].to_dict()
        assert a.keys() == b.keys(), name
        for key in a:
            if key in ORDER_DEPENDENT and not exact:
                assert math.isclose(float(a[key]), float(b[key]), rel_tol=RTOL, abs_tol=1e-9), (
                    name,
                    key,
                )
            else:
                assert a[key] == b[key], (name, key, a[key], b[key])

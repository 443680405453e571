"""Profiles: layouts, counts, moments, quantiles, streaming and edge cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from aims.core.profile import (
    CategoricalProfile,
    NumericLayout,
    NumericProfile,
    ProfileOptions,
    UnsupportedProfile,
    kind_of,
    merge,
    profile,
    profile_like,
)
from aims.core.profile.numeric import profile_values
from aims.errors import InvalidInput


def test_layout_core_covers_reference_and_ignores_outliers() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 100_000), [1e9]])
    layout = NumericLayout.fit(x)
    assert -6 < layout.lo < -3 and 3 < layout.hi < 6
    prof = profile_values(x, layout)
    assert prof.maximum == 1e9
    assert sum(prof.above.values()) == 1


def test_numeric_profile_counts_and_moments_match_numpy() -> None:
    rng = np.random.default_rng(2)
    x = rng.lognormal(0, 1, 50_000)
    prof = profile_values(x, NumericLayout.fit(x[:1000]))
    assert prof.n == x.size
    assert int(prof.counts.sum()) + sum(prof.below.values()) + sum(prof.above.values()) == x.size
    assert prof.mean == pytest.approx(x.mean(), rel=1e-12)
    assert prof.variance == pytest.approx(x.var(), rel=1e-10)
    assert (prof.minimum, prof.maximum) == (x.min(), x.max())


def test_quantiles_within_one_bin_width() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2, 200_000)
    prof = profile_values(x, NumericLayout.fit(x))
    levels = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    assert np.abs(prof.quantile(levels) - np.quantile(x, levels)).max() <= prof.layout.width


def test_tail_quantiles_have_relative_accuracy() -> None:
    x = np.linspace(0.0, 1.0, 10_001)
    far = np.linspace(100.0, 200.0, 10_001)
    prof = profile_values(np.concatenate([x, far]), NumericLayout(0.0, 1.0, bins=100))
    q = prof.quantile(0.75)
    expected = np.quantile(np.concatenate([x, far]), 0.75)
    distance = expected - prof.layout.hi
    assert abs(q - expected) <= (prof.layout.growth - 1) * distance + prof.layout.width


def test_nan_inf_and_nulls_are_counted_apart() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), float("inf"), -float("inf"), None, 3.0]})
    p = profile(frame)["x"]
    assert isinstance(p, NumericProfile)
    assert (p.rows, p.nulls, p.nans, p.pos_inf, p.neg_inf, p.n) == (6, 1, 1, 1, 1, 2)
    assert (p.minimum, p.maximum, p.mean) == (1.0, 3.0, 2.0)
    assert p.missing == 2


def test_empty_and_all_null_columns() -> None:
    empty = profile(pl.DataFrame({"x": pl.Series([], dtype=pl.Float64)}))["x"]
    assert (empty.rows, empty.n, empty.minimum) == (0, 0, None)
    nulls = profile(pl.DataFrame({"x": pl.Series([None, None], dtype=pl.Float64)}))["x"]
    assert (nulls.rows, nulls.nulls, nulls.n) == (2, 2, 0)
    assert np.isnan(nulls.quantile(0.5))


def test_constant_column_gets_a_narrow_core() -> None:
    p = profile(pl.DataFrame({"x": [7.0] * 100}))["x"]
    assert p.layout.lo < 7.0 < p.layout.hi
    assert p.layout.hi - p.layout.lo == pytest.approx(2 * 7e-3)
    assert p.variance == 0.0 and p.quantile(0.5) == 7.0


def test_kinds_of_columns() -> None:
    assert kind_of(pl.Series([True, False])) == "boolean"
    assert kind_of(pl.Series([0, 1, 1])) == "categorical"
    assert kind_of(pl.Series(range(50))) == "numeric"
    assert kind_of(pl.Series([1.5])) == "numeric"
    assert kind_of(pl.Series([dt.date(2020, 1, 1)])) == "datetime"
    assert kind_of(pl.Series(["a"]).cast(pl.Categorical)) == "categorical"
    assert kind_of(pl.Series([[1, 2]])) == "unsupported"


def test_booleans_and_datetimes_are_profiled() -> None:
    frame = pl.DataFrame(
        {
            "b": [True, False, True, None],
            "t": [dt.datetime(2024, 1, d) for d in (1, 2, 3, 4)],
        }
    )
    p = profile(frame)
    assert p["b"].kind == "boolean"
    assert p["b"].frequencies() == {"true": 2, "false": 1}
    assert p["t"].kind == "datetime"
    assert p["t"].minimum == dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1e6


def test_categorical_layout_bounds_categories() -> None:
    labels = [f"v{i}" for i in range(10) for _ in range(10 - i)]
    opts = ProfileOptions(max_categories=3, max_extra=2)
    ref = profile(pl.DataFrame({"c": labels}), options=opts)
    p = ref["c"]
    assert isinstance(p, CategoricalProfile)
    assert p.layout.categories == ("v0", "v1", "v2")
    assert p.other == sum(10 - i for i in range(3, 10))
    cur = profile_like(ref, pl.DataFrame({"c": ["v0", "new1", "new1", "new2", "new3", "v9"]}))["c"]
    # two extras kept exactly (most frequent first, ties by value); the rest is "other"
    assert cur.frequencies() == {"v0": 1, "v1": 0, "v2": 0, "new1": 2, "new2": 1, None: 2}
    assert cur.extra == {"new1": 2, "new2": 1} and cur.other == 2


def test_integer_labels_match_whole_floats() -> None:
    ref = profile(pl.DataFrame({"label": [0, 1, 1, 0]}))
    cur = profile_like(ref, pl.DataFrame({"label": [1.0, 1.0, 0.5]}))["label"]
    assert dict(zip(cur.layout.categories, cur.counts.tolist(), strict=True)) == {"0": 0, "1": 2}
    assert cur.extra == {"0.5": 1}


def test_profile_like_records_new_and_mismatched_columns() -> None:
    ref = profile(pl.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    cur = profile_like(ref, pl.DataFrame({"x": ["1", "2"], "c": ["a", "a"], "z": [1, 2]}))
    assert isinstance(cur["x"], UnsupportedProfile) and cur["x"].reason == "mismatch"
    assert isinstance(cur["z"], UnsupportedProfile) and cur["z"].reason == "new"
    assert isinstance(cur["c"], CategoricalProfile)


def test_merge_needs_same_layout() -> None:
    a = profile(pl.DataFrame({"x": [1.0, 2.0]}))
    b = profile(pl.DataFrame({"x": [10.0, 20.0]}))
    with pytest.raises(InvalidInput, match="profile_like"):
        merge(a, b)


def test_streamed_file_profile_equals_in_memory(tmp_path) -> None:
    rng = np.random.default_rng(4)
    frame = pl.DataFrame(
        {
            "x": rng.normal(0, 1, 30_000),
            "c": rng.choice(["a", "b", "c"], 30_000),
            "late": ["x"] * 25_000 + ["y"] * 5_000,
        }
    )
    path = tmp_path / "data.parquet"
    frame.write_parquet(path, row_group_size=5_000)
    seen: list[int] = []
    streamed = profile(path, batch_rows=5_000, progress=seen.append)
    assert sum(seen) == 30_000 and len(seen) == 6
    whole = profile(frame)
    assert streamed["x"].n == whole["x"].n == 30_000
    assert streamed["x"].mean == pytest.approx(whole["x"].mean, rel=1e-12)
    assert streamed["c"].frequencies() == whole["c"].frequencies()
    # a category first seen after the first batch still joins the category set
    assert streamed["late"].layout.categories == ("x", "y")
    like = profile_like(streamed, path, batch_rows=7_000)
    assert like["x"].n == 30_000 and like["late"].frequencies() == {"x": 25_000, "y": 5_000}


def test_csv_input(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pl.DataFrame({"x": [1.5, 2.5, 3.5], "c": ["a", "b", "a"]}).write_csv(path)
    p = profile(path)
    assert p["x"].n == 3 and p["c"].frequencies() == {"a": 2, "b": 1}


def test_pandas_and_arrow_input() -> None:
    import pandas as pd
    import pyarrow as pa

    pdf = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    assert profile(pdf)["x"].n == 3
    assert profile(pa.table({"x": [1.0, 2.0]}))["x"].n == 2


def test_profile_is_small() -> None:
    from aims.core.profile import dumps

    rng = np.random.default_rng(5)
    p = profile(pl.DataFrame({"x": rng.normal(0, 1, 1_000_000)}))
    assert len(dumps(p)) < 4_000


def test_a_layout_over_values_near_the_float_limits_is_finite_and_silent() -> None:
    # Found by hypothesis: the quantile span of these overflowed with a warning.
    from aims.core.profile.numeric_layout import NumericLayout

    big = np.finfo(np.float64).max
    layout = NumericLayout.fit(np.array([0.0, -big, big]))
    assert np.isfinite(layout.lo) and np.isfinite(layout.hi) and layout.lo < layout.hi
    assert np.isfinite(layout.hi - layout.lo)

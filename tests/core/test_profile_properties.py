"""Property-based checks: merging equals profiling the concatenation; serialisation round-trips."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aims.core.profile import dumps, loads, merge, profile, profile_like

floats = st.one_of(
    st.floats(min_value=-1e12, max_value=1e12),
    st.sampled_from([float("nan"), float("inf"), -float("inf")]),
    st.none(),
)
extreme = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none())
labels = st.one_of(st.sampled_from(["a", "b", "c", "d", "zz"]), st.none())
rows = st.lists(st.tuples(floats, labels, st.booleans()), min_size=0, max_size=60)


def _frame(data: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "x": pl.Series([r[0] for r in data], dtype=pl.Float64),
            "c": pl.Series([r[1] for r in data], dtype=pl.String),
            "b": pl.Series([r[2] for r in data], dtype=pl.Boolean),
        }
    )


def _same(a: dict, b: dict) -> None:
    """Equal profiles: counts exactly, mean and m2 to rounding."""
    assert a["rows"] == b["rows"]
    for name in a["columns"]:
        ca, cb = dict(a["columns"][name]), dict(b["columns"][name])
        for key in ("mean", "m2"):
            if key in ca:
                assert ca.pop(key) == pytest.approx(cb.pop(key), rel=1e-9, abs=1e-6)
        assert ca == cb


REF = _frame([(float(v), "a" if v % 2 else "b", v % 3 == 0) for v in range(-50, 50)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, rows)
def test_merge_equals_profile_of_concatenation(a: list, b: list) -> None:
    ref = profile(REF)
    fa, fb = _frame(a), _frame(b)
    merged = merge(profile_like(ref, fa), profile_like(ref, fb))
    whole = profile_like(ref, pl.concat([fa, fb]))
    _same(merged.to_dict(), whole.to_dict())


any_rows = st.lists(st.tuples(extreme, labels, st.booleans()), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_rows, st.sampled_from(["json", "msgpack"]))
def test_serialisation_round_trips_exactly(data: list, encoding: str) -> None:
    p = profile(_frame(data))
    back = loads(dumps(p, encoding))  # type: ignore[arg-type]
    assert back.to_dict() == p.to_dict()
    assert dumps(back, encoding) == dumps(p, encoding)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=1, max_size=200))
def test_merged_moments_match_numpy(values: list[float]) -> None:
    ref = profile(pl.DataFrame({"x": values}))
    half = len(values) // 2
    parts = [
        pl.DataFrame({"x": pl.Series(values[:half], dtype=pl.Float64)}),
        pl.DataFrame({"x": pl.Series(values[half:], dtype=pl.Float64)}),
    ]
    merged = merge(*(profile_like(ref, p) for p in parts))["x"]
    x = np.asarray(values)
    assert merged.mean == pytest.approx(x.mean(), rel=1e-9, abs=1e-9)
    assert merged.variance == pytest.approx(x.var(), rel=1e-7, abs=1e-6)

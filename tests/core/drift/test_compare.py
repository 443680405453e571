"""Dataset comparison: verdicts, exact vs profile paths, and every edge case."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from aims.core.drift import DriftOptions, compare, drift_from_profiles
from aims.core.profile import dumps, loads, merge, profile, profile_like
from aims.errors import InvalidInput

RNG = np.random.default_rng(7)
N = 5000
REF = pl.DataFrame(
    {
        "same": RNG.normal(0, 1, N),
        "shift": RNG.normal(0, 1, N),
        "cat": RNG.choice(["a", "b", "c"], N, p=[0.5, 0.3, 0.2]),
        "flag": RNG.random(N) < 0.3,
    }
)
CUR = pl.DataFrame(
    {
        "same": RNG.normal(0, 1, N),
        "shift": RNG.normal(0.5, 1, N),
        "cat": RNG.choice(["a", "b", "c"], N, p=[0.2, 0.3, 0.5]),
        "flag": RNG.random(N) < 0.3,
    }
)


def test_flags_the_drifted_columns_on_both_paths() -> None:
    for method in ("exact", "profile"):
        report = compare(REF, CUR, method=method)
        assert report.drifted_columns == ["shift", "cat"]
        assert report.n_drifted == 2 and report.share_drifted == 0.5 and report.dataset_drift
        assert [c.test for c in report.columns] == [
            "wasserstein",
            "wasserstein",
            "jensen_shannon",
            "jensen_shannon",
        ]


def test_exact_and_profile_paths_agree() -> None:
    exact = compare(REF, CUR, method="exact")
    binned = compare(REF, CUR, method="profile")
    for a, b in zip(exact.columns, binned.columns, strict=True):
        tol = b.error_bound if b.error_bound is not None else 1e-12
        assert a.statistic == pytest.approx(b.statistic, abs=tol)


def test_json_shape() -> None:
    data = compare(REF, CUR).to_dict()
    assert {"columns", "n_drifted", "share_drifted", "dataset_drift"} <= set(data)
    for col in data["columns"]:
        assert {"name", "kind", "test", "statistic", "p_value", "threshold", "drifted"} <= set(col)


def test_drift_from_profiles_matches_profile_path_and_survives_storage() -> None:
    ref = profile(REF)
    windows = [profile_like(ref, CUR.slice(i, 1000)) for i in range(0, N, 1000)]
    day = loads(dumps(merge(*windows)))
    report = drift_from_profiles(ref, day)
    direct = compare(REF, CUR, method="profile")
    for a, b in zip(report.columns, direct.columns, strict=True):
        assert a.statistic == pytest.approx(b.statistic, rel=1e-9, abs=1e-12)
        assert a.drifted == b.drifted


def test_small_samples_use_p_value_tests() -> None:
    report = compare(REF.head(200), CUR.head(200))
    assert [c.test for c in report.columns] == ["ks", "ks", "chi_square", "chi_square"]
    assert report.column("shift").drifted and report.column("shift").p_value < 0.05


def test_benjamini_hochberg_adjusts_p_values() -> None:
    opts = DriftOptions(tests={c: "ks" for c in ("same", "shift")}, correction="bh")
    report = compare(REF, CUR, columns=["same", "shift"], options=opts)
    raw = compare(REF, CUR, columns=["same", "shift"], options=DriftOptions(tests=opts.tests))
    p = sorted(c.p_value for c in raw.columns)
    adjusted = sorted(c.p_value_adjusted for c in report.columns)
    assert adjusted == pytest.approx(
        [min(1.0, 2 * p[0]), p[1]] if 2 * p[0] < p[1] else [p[1], p[1]]
    )


def test_thresholds_and_tests_can_be_overridden() -> None:
    opts = DriftOptions(tests={"same": "psi"}, thresholds={"same": 0.0, "wasserstein": 10.0})
    report = compare(REF, CUR, options=opts)
    assert report.column("same").test == "psi" and report.column("same").drifted
    assert not report.column("shift").drifted and report.column("shift").threshold == 10.0
    with pytest.raises(InvalidInput, match="applies to"):
        compare(REF, CUR, options=DriftOptions(tests={"cat": "ks"}))
    with pytest.raises(InvalidInput, match="unknown drift test"):
        DriftOptions(tests={"cat": "nope"})


# --------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize("method", ["exact", "profile"])
def test_empty_column(method: str) -> None:
    ref = pl.DataFrame({"x": pl.Series([], dtype=pl.Float64)})
    cur = pl.DataFrame({"x": pl.Series([], dtype=pl.Float64)})
    row = compare(ref, cur, method=method).column("x")
    assert (row.test, row.statistic, row.drifted) == ("none", None, False)
    assert "no values on either side" in row.note


@pytest.mark.parametrize("method", ["exact", "profile"])
def test_all_null_current(method: str) -> None:
    cur = pl.DataFrame({"same": pl.Series([None] * 10, dtype=pl.Float64)})
    row = compare(REF.select("same"), cur, method=method).column("same")
    assert row.test == "presence" and row.drifted and row.statistic is None
    assert row.missing_current == 1.0 and row.n_current == 0
    assert "no values in the current data" in row.note


def test_all_null_categorical_on_both_sides() -> None:
    frame = pl.DataFrame({"c": pl.Series([None, None], dtype=pl.String)})
    row = compare(frame, frame).column("c")
    assert (row.test, row.drifted, row.missing_reference) == ("none", False, 1.0)


def test_constant_columns() -> None:
    same = compare(pl.DataFrame({"x": [3.0] * 50}), pl.DataFrame({"x": [3.0] * 50})).column("x")
    assert same.statistic == 0.0 and not same.drifted
    moved = compare(pl.DataFrame({"x": [3.0] * 2000}), pl.DataFrame({"x": [4.0] * 2000}))
    # W1 = 1 over a pooled sd of 0.5
    assert moved.column("x").statistic == pytest.approx(2.0, rel=1e-3) and moved.column("x").drifted


def test_unseen_categories() -> None:
    ref = pl.DataFrame({"c": ["a", "b"] * 1000})
    cur = pl.DataFrame({"c": ["a", "b", "new"] * 700})
    for method in ("exact", "profile"):
        row = compare(ref, cur, method=method).column("c")
        from scipy.spatial.distance import jensenshannon

        assert row.statistic == pytest.approx(jensenshannon([0.5, 0.5, 0], [1 / 3] * 3), abs=1e-12)
        assert row.drifted


def test_nan_and_infinity_are_left_out_of_the_test() -> None:
    clean = RNG.normal(0, 1, 3000)
    dirty = np.concatenate([clean, [np.nan] * 500, [np.inf] * 10, [-np.inf] * 10])
    ref = pl.DataFrame({"x": clean})
    report = compare(ref, pl.DataFrame({"x": dirty}), method="exact").column("x")
    assert report.statistic == 0.0 and not report.drifted
    assert report.n_current == 3000
    assert report.missing_current == pytest.approx(500 / 3520)
    assert report.infinite_current == pytest.approx(20 / 3520)
    assert report.infinite_reference == 0.0 and report.missing_reference == 0.0
    # From profiles too, and in the JSON.
    by_profile = compare(ref, pl.DataFrame({"x": dirty}), method="profile").column("x")
    assert by_profile.to_dict()["infinite_current"] == pytest.approx(20 / 3520)


def test_booleans() -> None:
    ref = pl.DataFrame({"b": [True] * 700 + [False] * 1300})
    cur = pl.DataFrame({"b": [True] * 1300 + [False] * 700})
    row = compare(ref, cur).column("b")
    assert row.kind == "boolean" and row.test == "jensen_shannon" and row.drifted
    from scipy.spatial.distance import jensenshannon

    assert row.statistic == pytest.approx(jensenshannon([0.35, 0.65], [0.65, 0.35]), abs=1e-12)


def test_datetimes() -> None:
    start = dt.datetime(2024, 1, 1)
    ref = pl.DataFrame({"t": [start + dt.timedelta(hours=i) for i in range(2000)]})
    later = pl.DataFrame({"t": [start + dt.timedelta(hours=i + 1000) for i in range(2000)]})
    row = compare(ref, later).column("t")
    assert row.kind == "datetime" and row.test == "wasserstein" and row.drifted
    # shift of 1000 h over the sd of 2000 hourly steps (577.35 h)
    assert row.statistic == pytest.approx(1000 / np.std(np.arange(2000)), rel=1e-3)
    assert not compare(ref, ref).column("t").drifted


def test_column_in_one_input_only_is_a_schema_change() -> None:
    ref = pl.DataFrame({"a": [1.0, 2.0], "gone": [1.0, 2.0]})
    cur = pl.DataFrame({"a": [1.0, 2.0], "added": ["x", "y"]})
    for method in ("exact", "profile"):
        report = compare(ref, cur, method=method)
        gone, added = report.column("gone"), report.column("added")
        assert (gone.test, gone.drifted, gone.note) == (
            "schema",
            True,
            "missing from the current data",
        )
        assert (added.test, added.drifted, added.kind) == ("schema", True, "categorical")
        assert report.to_dict()["schema_changes"] == ["gone", "added"]


def test_mismatched_types_are_a_schema_change() -> None:
    ref = pl.DataFrame({"x": [1.0, 2.0, 3.0]})
    cur = pl.DataFrame({"x": ["1", "2", "3"]})
    row = compare(ref, cur).column("x")
    assert row.test == "schema" and row.drifted
    assert row.note == "type changed from Float64 to String"


def test_compatible_types_are_compared() -> None:
    ref = pl.DataFrame({"x": np.arange(100, dtype=np.int64)})
    cur = pl.DataFrame({"x": np.arange(100, dtype=np.float64)})
    assert compare(ref, cur).column("x").statistic == 0.0


def test_unsupported_types_are_reported() -> None:
    ref = pl.DataFrame({"l": [[1], [2]]})
    row = compare(ref, ref).column("l")
    assert (row.test, row.drifted, row.kind) == ("none", False, "unsupported")


def test_columns_option_and_unknown_columns() -> None:
    report = compare(REF, CUR, columns=["cat"])
    assert [c.name for c in report.columns] == ["cat"]
    with pytest.raises(InvalidInput, match="neither input"):
        compare(REF, CUR, columns=["nope"])


def test_files_are_streamed_on_the_profile_path(tmp_path) -> None:
    ref_path, cur_path = tmp_path / "ref.parquet", tmp_path / "cur.csv"
    REF.write_parquet(ref_path)
    CUR.write_csv(cur_path)
    seen: list[int] = []
    report = compare(ref_path, cur_path, method="profile", progress=seen.append)
    assert sum(seen) == 2 * N
    assert report.drifted_columns == ["shift", "cat"]
    assert compare(ref_path, cur_path).method == "exact"

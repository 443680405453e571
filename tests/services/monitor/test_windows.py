"""Windows: which are closed, and profiles that merge exactly."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import entropy

from aims.core.profile import profile, profile_frame_like
from aims.services.monitor.reference import Reference
from aims.services.monitor.windows import (
    WindowProfile,
    input_columns,
    merge_profiles,
    output_frame,
    pending_windows,
    profile_windows,
    sanity_counts,
    window_start,
    windows_of_hour,
)

H = datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_window_starts_align_to_midnight_utc() -> None:
    assert window_start(H + timedelta(minutes=59), 3600) == H
    assert window_start(H + timedelta(minutes=44), 900) == H + timedelta(minutes=30)
    assert window_start(H, 86400) == datetime(2026, 3, 2, tzinfo=UTC)
    naive = datetime(2026, 3, 2, 10, 15)
    assert window_start(naive, 1800) == H
    assert windows_of_hour(H, 1800) == [H, H + timedelta(minutes=30)]
    assert windows_of_hour(H, 7200) == [H]  # 10:00-12:00 covers the 10:00 hour


def test_pending_windows_are_closed_after_the_grace_period_and_not_done() -> None:
    parts = [(1, H), (1, H + timedelta(hours=1)), (2, H + timedelta(hours=1))]
    grace = timedelta(minutes=5)
    since = H - timedelta(days=7)
    kwargs = dict(seconds=3600, grace=grace, since=since)
    at = H + timedelta(hours=2, minutes=4)  # the 11:00 window ends 12:00, grace until 12:05
    assert pending_windows(parts, set(), now=at, **kwargs) == {H: [1]}
    at = H + timedelta(hours=2, minutes=5)
    assert pending_windows(parts, set(), now=at, **kwargs) == {
        H: [1],
        H + timedelta(hours=1): [1, 2],
    }
    done = {(1, H), (2, H + timedelta(hours=1))}
    assert pending_windows(parts, done, now=at, **kwargs) == {H + timedelta(hours=1): [1]}
    late = dict(kwargs, since=H + timedelta(hours=1))  # the look-back limit
    assert list(pending_windows(parts, set(), now=at, **late)) == [H + timedelta(hours=1)]


def test_input_columns_undo_the_log_prefix() -> None:
    cols = [
        "prediction_id",
        "ts",
        "role",
        "prediction",
        "score",
        "proba",
        "x",
        "input_score",
        "key",
    ]
    assert input_columns(cols) == {"x": "x", "input_score": "score"}


def test_confidence_and_entropy_match_a_direct_computation() -> None:
    proba = [[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]]
    batch = pl.DataFrame({"prediction": ["a", "b", "a"], "score": [0.7, 0.34, 1.0], "proba": proba})
    out = output_frame(batch, "classification", 3)
    assert out["confidence"].to_list() == pytest.approx([0.7, 1 / 3, 1.0])
    expected = [entropy(p) / math.log(3) for p in proba]
    assert out["entropy"].to_list() == pytest.approx(expected, abs=1e-12)
    # binary rows with a score only
    binary = pl.DataFrame({"prediction": ["1", "0.0"], "score": [0.9, 0.2]})
    out = output_frame(binary, "classification", 2)
    assert out["prediction"].to_list() == ["1", "0"]
    assert out["confidence"].to_list() == pytest.approx([0.9, 0.8])
    expected = [entropy([0.9, 0.1]) / math.log(2), entropy([0.2, 0.8]) / math.log(2)]
    assert out["entropy"].to_list() == pytest.approx(expected, abs=1e-12)


def _reference(task: str = "classification") -> Reference:
    rng = np.random.default_rng(0)
    inputs = pl.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    outputs = pl.DataFrame(
        {
            "prediction": rng.choice(["0", "1"], 2000),
            "score": rng.random(2000),
            "confidence": 0.5 + rng.random(2000) / 2,
            "entropy": rng.random(2000),
        }
    )
    return Reference(
        model="m",
        model_id=1,
        version=1,
        task=task,
        classes=["0", "1"] if task == "classification" else None,
        features=["x", "c"],
        inputs=profile(inputs),
        outputs=profile(outputs, kinds={"prediction": "categorical"}),
        output_range=(0.0, 10.0) if task == "regression" else None,
    )


def test_sanity_counts_each_kind_of_bad_output() -> None:
    ref = _reference()
    nan, inf = float("nan"), float("inf")
    batch = pl.DataFrame(
        {
            "prediction": ["1", "0", None, "2", "1", "1", "0", "1.0"],
            "score": [0.9, nan, 0.5, 0.5, 1.5, 0.55, inf, 0.8],
            "proba": [
                [0.1, 0.9],
                [nan, nan],
                [0.5, 0.5],
                [0.5, 0.5],
                [-0.5, 1.5],
                [0.45, 0.55],
                [0.0, 1.0],
                [0.3, 0.8],
            ],
        }
    )
    counts = sanity_counts(batch, ref, low_confidence=0.6)
    assert counts == {
        "rows": 8,
        "null_prediction": 1,
        "nan": 1,
        "inf": 1,
        "out_of_range": 2,  # a score of 1.5 (and proba -0.5), and probabilities summing to 1.1
        "unknown_class": 1,  # "2"; "1.0" is class "1"
        "invalid": 6,
        # confidence below 0.6: [0.5,0.5] twice and 0.55; the NaN row's is NaN
        "low_confidence": 3,
        "contract_warnings": 0,  # a log without the column: no row broke a warn rule
    }
    reg = _reference("regression")
    batch = pl.DataFrame({"prediction": ["1.5", "nan", "inf", "11", "-3", None, "9.99"]})
    counts = sanity_counts(batch, reg, low_confidence=0.6)
    assert (counts["nan"], counts["inf"], counts["out_of_range"], counts["null_prediction"]) == (
        1,
        1,
        2,
        1,
    )
    assert counts["invalid"] == 5 and counts["unknown_class"] == 0


def _log(n: int, start: datetime, seed: int, role: str = "production") -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return pl.DataFrame(
        {
            "prediction_id": [f"{seed}-{i}" for i in range(n)],
            "role": [role] * n,
            "ts": [start + timedelta(seconds=int(s)) for s in rng.integers(0, 3600, n)],
            "prediction": np.where(p > 0.5, "1", "0").tolist(),
            "score": p,
            "proba": np.column_stack([1 - p, p]).tolist(),
            "x": rng.normal(0.3, 1.0, n),
            "c": rng.choice(["a", "b", "z"], n),
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))


def test_a_day_is_exactly_the_merge_of_its_hours() -> None:
    ref = _reference()
    day0 = datetime(2026, 3, 2, tzinfo=UTC)
    hours = [_log(300, day0 + timedelta(hours=h), seed=h) for h in range(24)]
    batches = [pl.concat(hours[i : i + 5]) for i in range(0, 24, 5)]  # batches cross windows
    per_hour = profile_windows(batches, ref, 0.6, seconds=3600)
    assert sorted(per_hour) == [(day0 + timedelta(hours=h), "production") for h in range(24)]
    day = merge_profiles(WindowProfile.loads(p.dumps()) for p in per_hour.values())
    whole = pl.concat(hours)
    direct = profile_frame_like(ref.inputs, whole.select("x", "c"))  # type: ignore[arg-type]
    assert day.rows == whole.height == 7200
    merged, exact = day.inputs.to_dict()["columns"], direct.to_dict()["columns"]  # type: ignore[union-attr]
    for name in ("x", "c"):
        for key, value in exact[name].items():
            if key in ("mean", "m2"):  # merged with Chan's formulas: equal up to rounding
                assert merged[name][key] == pytest.approx(value, rel=1e-12)
            else:
                assert merged[name][key] == value, (name, key)
    assert day.health.missing == {"x": 0, "c": 0}  # type: ignore[union-attr]
    assert day.sanity["low_confidence"] == int(
        (np.maximum(whole["score"], 1 - whole["score"]) < 0.6).sum()
    )
    daily = profile_windows(batches, ref, 0.6, seconds=86400)
    assert list(daily) == [(day0, "production")] and daily[(day0, "production")].rows == 7200
    only = profile_windows(batches, ref, 0.6, seconds=3600, wanted={day0})
    assert list(only) == [(day0, "production")] and only[(day0, "production")].rows == 300


def test_profile_round_trip_keeps_health_types_and_newest_timestamps() -> None:
    ref = _reference()
    batch = _log(50, H, seed=1).with_columns(
        pl.lit(datetime(2026, 3, 2, 9, tzinfo=UTC)).alias("event_time"),
        pl.lit(None, pl.Float64).alias("x"),
    )
    prof = WindowProfile().add(batch, ref, 0.6)
    back = WindowProfile.loads(prof.dumps())
    assert back.health.dtypes == prof.health.dtypes  # type: ignore[union-attr]
    assert back.health.missing["x"] == 50  # type: ignore[union-attr]
    assert back.health.newest["event_time"] == datetime(2026, 3, 2, 9, tzinfo=UTC)  # type: ignore[union-attr]
    assert back.outputs.to_dict() == prof.outputs.to_dict()  # type: ignore[union-attr]
    assert back.sanity == prof.sanity
    with pytest.raises(Exception, match="window profile"):
        WindowProfile.loads(b"\x81\xa1a\x01")


def test_roles_are_profiled_apart() -> None:
    ref = _reference()
    batch = pl.concat(
        [_log(100, H, 1), _log(40, H, 2, role="canary"), _log(10, H, 3, role="shadow")]
    )
    out = profile_windows([batch], ref, 0.6, seconds=3600)
    assert {role: p.rows for (_, role), p in out.items()} == {
        "production": 100,
        "canary": 40,
        "shadow": 10,
    }

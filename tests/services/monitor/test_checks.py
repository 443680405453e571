"""Window checks against independent references (hand-computed PSI, scikit-learn metrics)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from aims.core.drift import DriftOptions
from aims.core.profile import profile
from aims.services.monitor import checks
from aims.services.monitor.reference import Reference
from aims.services.monitor.triggers import parse_monitoring
from aims.services.monitor.windows import WindowProfile

END = datetime(2026, 3, 2, 11, tzinfo=UTC)


def _reference(train: pl.DataFrame) -> Reference:
    return Reference(
        model="m",
        model_id=1,
        version=1,
        task="classification",
        classes=["0", "1"],
        features=list(train.columns),
        inputs=profile(train),
        null_shares=dict.fromkeys(train.columns, 0.0),
        baseline={"accuracy": 0.9, "roc_auc": 0.95},
    )


def test_categorical_psi_equals_the_hand_computed_value() -> None:
    train = pl.DataFrame({"c": ["a"] * 500 + ["b"] * 300 + ["c"] * 200})
    window = pl.DataFrame({"c": ["a"] * 200 + ["b"] * 500 + ["c"] * 300})
    ref = _reference(train)
    prof = WindowProfile().add(window.with_columns(pl.lit("1").alias("prediction")), ref, 0.6)
    features, summary, values = checks.feature_drift(ref, prof, DriftOptions())
    r, c = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3])
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert features["c"]["psi"] == pytest.approx(expected, rel=1e-12)
    assert values["max_psi"] == pytest.approx(expected, rel=1e-12)
    assert features["c"]["drifted"] is True and summary["n_drifted"] == 1


def test_an_all_null_column_is_left_to_data_health() -> None:
    rng = np.random.default_rng(0)
    train = pl.DataFrame({"x": rng.normal(size=1000), "y": rng.normal(size=1000)})
    window = pl.DataFrame(
        {"x": rng.normal(size=300), "y": [None] * 300}, schema={"x": pl.Float64, "y": pl.Float64}
    )
    ref = _reference(train)
    prof = WindowProfile().add(window, ref, 0.6)
    features, summary, values = checks.feature_drift(ref, prof, DriftOptions())
    assert features["y"]["excluded"] is True and features["y"]["psi"] is None
    assert features["y"]["null_share"] == 1.0
    assert summary["n_tested"] == 1 and values["share_drifted"] == 0.0
    health, hv = checks.health_checks(ref, prof, END, parse_monitoring({}))
    assert hv["null_jumps"] == 1 and hv["health_issues"] == 1
    assert health["issues"] == ["y: null share 100.0%, limit 5.0%"]
    missing = WindowProfile().add(window.drop("y"), ref, 0.6)
    features, summary, _ = checks.feature_drift(ref, missing, DriftOptions())
    assert features["y"]["excluded"] is True and summary["excluded"] == ["y"]
    _, hv = checks.health_checks(ref, missing, END, parse_monitoring({}))
    assert hv["schema_changes"] == 1


def test_volume_against_last_week() -> None:
    assert checks.volume_check(140, 100)[1]["volume_change"] == 0.4
    assert checks.volume_check(60, 100)[1]["volume_change"] == 0.4
    assert checks.volume_check(60, 100)[1]["volume_ratio"] == 0.6
    section, values = checks.volume_check(60, None)
    assert "volume_change" not in values and section["baseline_rows"] is None


def test_performance_equals_scikit_learn_overall_and_per_slice() -> None:
    rng = np.random.default_rng(1)
    n = 1200
    y = rng.integers(0, 2, n)
    score = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1)
    pred = (score > 0.5).astype(int)
    region = rng.choice(["n", "s", "tiny"], n, p=[0.6, 0.38, 0.02])
    frame = pl.DataFrame(
        {
            "prediction": [str(p) for p in pred],
            "score": score,
            "proba": np.column_stack([1 - score, score]).tolist(),
            "label": [f"{v}.0" for v in y],  # labels often arrive as floats
            "region": region,
        }
    )
    unlabelled = pl.DataFrame(
        {"prediction": ["1"] * 300, "label": [None] * 300}, schema_overrides={"label": pl.String}
    )
    frame = pl.concat([frame, unlabelled], how="diagonal_relaxed")
    ref = _reference(pl.DataFrame({"x": [1.0, 2.0]}))
    policy = parse_monitoring({"slices": ["region"], "min_slice_labels": 50})
    section, values = checks.performance(frame, ref, n + 300, policy)
    assert section["n_labelled"] == n and values["labelled_share"] == pytest.approx(n / (n + 300))
    assert values["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert values["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score))
    assert values["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert values["accuracy_drop"] == pytest.approx(0.9 - skm.accuracy_score(y, pred))
    assert values["roc_auc_drop"] == pytest.approx(0.95 - skm.roc_auc_score(y, score))
    slices = {s["value"]: s for s in section["slices"]}
    assert set(slices) == {"n", "s"}  # "tiny" has fewer than 50 labels
    mask = region == "s"
    assert slices["s"]["n_labelled"] == int(mask.sum())
    assert slices["s"]["metrics"]["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y[mask], score[mask])
    )
    facts = checks.facts_of({"values": values, "performance": section, "rows": n + 300})
    assert {s.name for s in facts.slices} == {"region=n", "region=s"}


def test_labels_outside_the_classes_are_counted_not_scored() -> None:
    frame = pl.DataFrame({"prediction": ["1", "0", "1"], "label": ["1", "maybe", "0"]})
    ref = _reference(pl.DataFrame({"x": [1.0]}))
    section, values = checks.performance(frame, ref, 3, parse_monitoring({}))
    assert section["n_labelled"] == 2 and section["unusable_labels"] == 1
    assert values["accuracy"] == 0.5


def test_regression_performance() -> None:
    ref = _reference(pl.DataFrame({"x": [1.0]}))
    ref.task, ref.classes, ref.baseline = "regression", None, {"rmse": 1.0, "r2": 0.8}
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 2.0, 2.0, 5.0])
    frame = pl.DataFrame({"prediction": [str(v) for v in p], "label": [str(v) for v in y]})
    _, values = checks.performance(frame, ref, 4, parse_monitoring({}))
    assert values["rmse"] == pytest.approx(skm.root_mean_squared_error(y, p))
    assert values["rmse_drop"] == pytest.approx(skm.root_mean_squared_error(y, p) - 1.0)
    assert values["r2_drop"] == pytest.approx(0.8 - skm.r2_score(y, p))


def test_clean_makes_results_json_safe() -> None:
    out = checks.clean({"a": float("inf"), "b": [np.float64(1.5), float("nan")], "c": END})
    assert out == {"a": None, "b": [1.5, None], "c": END.isoformat()}


def test_canary_comparison_sorts_the_other_bucket_after_named_classes() -> None:
    # A prediction profile with more classes than its layout keeps has an "other" bucket,
    # keyed None beside the class names: the comparison must not try to order None and str.
    from aims.core.profile.categorical import fit_layout
    from aims.core.profile.frame import FrameProfile

    labels = pl.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 2)
    _, narrow = fit_layout(labels, max_categories=2)
    _, full = fit_layout(labels, max_categories=3)
    assert None in narrow.frequencies()
    mine = WindowProfile(rows=10, outputs=FrameProfile({"prediction": narrow}, rows=10))
    prod = WindowProfile(rows=10, outputs=FrameProfile({"prediction": full}, rows=10))
    section, values = checks.comparison(mine, prod, {}, {}, 1, DriftOptions())
    # Same rows, "c" counted as other on one side only: a positive, finite PSI.
    psi = values["prediction_psi_vs_production"]
    assert psi is not None and 0 < psi < float("inf")
    assert section["production_version"] == 1

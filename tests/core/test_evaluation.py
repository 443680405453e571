from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from fairlearn import metrics as flm
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aims.core.calibration import expected_calibration_error
from aims.core.evaluation import EvaluationOptions, EvaluationResult, evaluate
from aims.errors import InvalidInput, NotFound

FEATURES = ["mean_radius", "mean_texture", "mean_smoothness", "worst_concavity"]


@pytest.fixture(scope="module")
def cancer() -> pl.DataFrame:
    data = load_breast_cancer(as_frame=True)
    frame = pl.from_pandas(data.frame).rename(lambda c: c.replace(" ", "_"))
    n = frame.height
    # A categorical column with one small group, to test slice size rules.
    site = np.where(np.arange(n) % 10 == 0, "rare", np.where(np.arange(n) % 2 == 0, "A", "B"))
    return frame.select([*FEATURES, "target"]).with_columns(pl.Series("site", site))


@pytest.fixture(scope="module")
def cancer_model(cancer):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
        cancer.select(FEATURES), cancer["target"]
    )


@pytest.fixture(scope="module")
def result(cancer, cancer_model) -> EvaluationResult:
    return evaluate(
        cancer_model, cancer, label="target", sensitive=["site"], n_repeats=3, data_id="abc"
    )


def test_metrics_equal_sklearn_on_the_same_predictions(cancer, cancer_model, result):
    X, y = cancer.select(FEATURES), cancer["target"].to_numpy()
    pred, proba = cancer_model.predict(X), cancer_model.predict_proba(X)
    assert result.task == "classification"
    assert result.n_rows == cancer.height
    assert result.features == FEATURES
    assert result.classes == [0, 1]
    assert result.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert result.metrics["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert result.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    assert result.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert result.metrics["brier"] == pytest.approx(skm.brier_score_loss(y, proba[:, 1]))
    assert result.metrics["ece"] == pytest.approx(expected_calibration_error(y, proba[:, 1]))
    assert result.calibration is not None
    assert result.calibration.ece == result.metrics["ece"]


def test_slices_cover_every_row_and_match_sklearn(cancer, cancer_model, result):
    site = [s for s in result.slices if s.column == "site"]
    assert {s.value: s.n for s in site} == {"A": 228, "B": 284, "rare": 57}
    mask = (cancer["site"] == "B").to_numpy()
    X, y = cancer.select(FEATURES).filter(mask), cancer["target"].to_numpy()[mask]
    b = next(s for s in site if s.value == "B")
    assert b.metrics["recall"] == pytest.approx(skm.recall_score(y, cancer_model.predict(X)))
    radius = [s for s in result.slices if s.column == "mean_radius"]
    assert len(radius) == 4  # quartile bins
    assert sum(s.n for s in radius) == cancer.height
    assert radius[0].value.startswith("[6.981, ")
    assert radius[-1].value.endswith("28.11]")


def test_worst_slices_are_flagged_and_summarised(result):
    flagged = [s for s in result.slices if s.flagged]
    eligible = [s for s in result.slices if s.n >= 30]
    assert 1 <= len(flagged) <= 3
    assert all(s.metrics["accuracy"] < result.metrics["accuracy"] for s in flagged)
    worst = min(s.metrics["accuracy"] for s in eligible)
    assert min(s.metrics["accuracy"] for s in flagged) == worst
    assert result.metric("slice.min.accuracy") == worst
    assert result.metric("slice.worst.accuracy") == worst
    assert result.metric("slice.worst.log_loss") == max(s.metrics["log_loss"] for s in eligible)


def test_small_slices_are_reported_but_not_summarised(cancer, cancer_model):
    r = evaluate(
        cancer_model,
        cancer,
        label="target",
        slice_columns=["site"],
        min_slice_size=100,
        robustness=False,
        importance=False,
    )
    assert {s.value for s in r.slices} == {"A", "B", "rare"}
    big = [s.metrics["accuracy"] for s in r.slices if s.value != "rare"]
    assert r.metric("slice.min.accuracy") == min(big)
    assert not any(s.flagged for s in r.slices if s.value == "rare")


def test_fairness_figures_equal_fairlearn(cancer, cancer_model, result):
    X, y = cancer.select(FEATURES), cancer["target"].to_numpy()
    pred = cancer_model.predict(X)
    site = cancer["site"].to_numpy()
    fair = result.fairness["site"]
    for name, fn in [
        ("demographic_parity_difference", flm.demographic_parity_difference),
        ("demographic_parity_ratio", flm.demographic_parity_ratio),
        ("equalized_odds_difference", flm.equalized_odds_difference),
        ("equalized_odds_ratio", flm.equalized_odds_ratio),
    ]:
        expected = fn(y, pred, sensitive_features=site)
        assert fair.statistics[name] == pytest.approx(expected, abs=1e-12)
        assert result.metric(f"fairness.site.{name}") == pytest.approx(expected, abs=1e-12)
    # Per-group figures against a plain NumPy group-by.
    for group in ("A", "B", "rare"):
        m = site == group
        assert fair.groups[group]["selection_rate"] == pytest.approx(np.mean(pred[m] == 1))
        assert fair.groups[group]["count"] == m.sum()
        assert result.metric(f"fairness.site={group}.accuracy") == pytest.approx(
            np.mean(pred[m] == y[m])
        )
    rates = [np.mean(pred[site == g] == 1) for g in ("A", "B", "rare")]
    assert fair.statistics["difference.selection_rate"] == pytest.approx(max(rates) - min(rates))


def test_regression_evaluation_equals_sklearn():
    data = load_diabetes(as_frame=True)
    frame = pl.from_pandas(data.frame)
    features = [c for c in frame.columns if c != "target"]
    model = Ridge(alpha=0.1).fit(frame.select(features), frame["target"])
    r = evaluate(model, frame, label="target", sensitive=["sex"], n_repeats=2)
    pred = model.predict(frame.select(features))
    y = frame["target"].to_numpy()
    assert r.task == "regression"
    assert r.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert r.metrics["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert r.calibration is None
    sex = frame["sex"].to_numpy()
    maes = [skm.mean_absolute_error(y[sex == v], pred[sex == v]) for v in np.unique(sex)]
    assert r.metric("fairness.sex.difference.mae") == pytest.approx(max(maes) - min(maes))
    assert "demographic_parity_difference" not in r.fairness["sex"].statistics
    assert r.metric("slice.worst.mae") == max(s.metrics["mae"] for s in r.slices if s.n >= 30)


def test_result_round_trips_through_json(result):
    restored = EvaluationResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert restored.flat() == result.flat()
    assert restored.calibration == result.calibration
    assert restored.slices == result.slices
    assert restored.to_dict() == result.to_dict()


def test_from_dict_refuses_another_schema(result):
    data = result.to_dict() | {"schema": 99}
    with pytest.raises(InvalidInput, match="schema"):
        EvaluationResult.from_dict(data)


def test_unknown_metric_names_list_the_known_ones(result):
    with pytest.raises(NotFound, match=r"known: accuracy.*roc_auc"):
        result.metric("fairness.sex.demographic_parity_difference")
    with pytest.raises(InvalidInput, match="unknown metric"):
        result.metric("acuracy")


def test_match_expands_wildcards(result):
    found = result.match("fairness.*.equalized_odds_difference")
    assert list(found) == ["fairness.site.equalized_odds_difference"]
    assert result.match("slice.site=*.accuracy").keys() == {
        "slice.site=A.accuracy",
        "slice.site=B.accuracy",
        "slice.site=rare.accuracy",
    }
    assert result.match("no_such_metric") == {}


def test_robustness_records_a_model_that_rejects_missing_values(result):
    missing = result.robustness["missing"]
    assert missing.error is not None and "NaN" in missing.error
    noise = result.robustness["noise"]
    assert noise.error is None
    assert noise.delta["accuracy"] == pytest.approx(
        noise.metrics["accuracy"] - result.metrics["accuracy"]
    )


def test_zero_noise_changes_nothing(cancer, cancer_model):
    r = evaluate(
        cancer_model,
        cancer,
        label="target",
        noise_scale=0.0,
        missing_rate=0.0,
        importance=False,
        slice_columns=[],
    )
    for scenario in ("noise", "missing"):
        assert r.robustness[scenario].error is None
        assert all(d == 0.0 for d in r.robustness[scenario].delta.values())


class OneColumnRule:
    """A classifier that looks at one column only, so permuting the others changes nothing."""

    classes_ = np.array([0, 1])

    def __init__(self, column: str, threshold: float) -> None:
        self.column, self.threshold = column, threshold

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        # In this data set class 1 (benign) has the low concavity.
        return (frame[self.column].to_numpy() <= self.threshold).astype(int)


def test_permutation_importance_is_zero_for_unused_features(cancer):
    model = OneColumnRule("worst_concavity", 0.22)
    r = evaluate(model, cancer, label="target", features=FEATURES, robustness=False)
    assert r.importance_metric == "accuracy"
    assert r.importance["worst_concavity"]["mean"] > 0.2
    for unused in ("mean_radius", "mean_texture", "mean_smoothness"):
        assert r.importance[unused] == {"mean": 0.0, "std": 0.0}
    assert r.metric("importance.worst_concavity") == r.importance["worst_concavity"]["mean"]


def test_permutation_importance_agrees_with_sklearn():
    data = load_diabetes(as_frame=True)
    frame = pl.from_pandas(data.frame)
    features = [c for c in frame.columns if c != "target"]
    model = Ridge(alpha=0.1).fit(frame.select(features), frame["target"])
    r = evaluate(model, frame, label="target", n_repeats=20, robustness=False, slice_columns=[])
    ref = permutation_importance(
        model,
        frame.select(features).to_pandas(),
        frame["target"].to_numpy(),
        n_repeats=20,
        random_state=0,
    )
    ours = np.array([r.importance[f]["mean"] for f in features])
    assert r.importance_metric == "r2"
    assert np.argmax(ours) == np.argmax(ref.importances_mean)
    assert np.allclose(ours, ref.importances_mean, atol=0.03)


def test_compare_puts_challenger_and_champion_side_by_side(cancer, cancer_model, result):
    weak = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        cancer.select(["mean_texture"]), cancer["target"]
    )
    challenger = evaluate(
        weak, cancer, label="target", sensitive=["site"], n_repeats=1, data_id="abc"
    )
    comparison = challenger.compare(result)
    rows = {r.name: r for r in comparison.rows}
    assert comparison.same_data is True
    assert rows["accuracy"].verdict == "worse"
    assert rows["accuracy"].delta == pytest.approx(
        challenger.metrics["accuracy"] - result.metrics["accuracy"]
    )
    assert rows["log_loss"].verdict == "worse"
    assert rows["selection_rate"].verdict == "unknown"
    assert "fairness.site.equalized_odds_difference" in rows
    assert not any(name.startswith("importance.") for name in rows)
    assert {r.name for r in comparison.worse()} >= {"accuracy", "roc_auc", "log_loss"}


def test_task_and_classes_are_inferred_without_classes_attribute():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pl.DataFrame({"x": x, "label": np.where(x + rng.normal(0, 0.5, 300) > 0, "yes", "no")})

    class Rule:
        def predict(self, f: pl.DataFrame) -> list[str]:
            return ["yes" if v > 0 else "no" for v in f["x"]]

    r = evaluate(Rule(), frame, label="label", importance=False, robustness=False)
    assert r.task == "classification"
    assert r.classes == ["no", "yes"]
    assert r.pos_label == "yes"
    expected = np.mean((x > 0) == (frame["label"].to_numpy() == "yes"))
    assert r.metrics["accuracy"] == pytest.approx(expected)


def test_rows_without_a_label_are_dropped_and_noted(cancer, cancer_model):
    holed = cancer.with_columns(
        pl.when(pl.int_range(pl.len()) < 5).then(None).otherwise(pl.col("target")).alias("target")
    )
    r = evaluate(cancer_model, holed, label="target", robustness=False, importance=False)
    assert r.n_rows == cancer.height - 5
    assert r.notes == ["dropped 5 rows without a label"]


def test_pandas_input_is_accepted(cancer, cancer_model, result):
    r = evaluate(
        cancer_model, cancer.to_pandas(), label="target", robustness=False, importance=False
    )
    assert r.metrics == result.metrics


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label": "nope"}, "label column"),
        ({"label": "target", "sensitive": ["gender"]}, "sensitive column"),
        ({"label": "target", "features": ["mean_radius", "x"]}, "feature column"),
        ({"label": "target", "task": "ranking"}, "task='ranking': must be one of"),
        ({"label": "target", "n_repeats": 0}, "n_repeats=0: must be a whole number"),
        ({"label": "target", "missing_rate": 2.0}, "missing_rate=2.0: must be a share"),
        ({"label": "target", "noise_scale": float("nan")}, "noise_scale=nan"),
        ({"label": "target", "sensitive": "sex"}, "sensitive='sex': must be a list"),
        ({"label": "target", "slice_metric": "acc"}, "slice_metric='acc': must be one of"),
        ({"label": "target", "repeats": 3}, "unknown evaluation option.s. repeats"),
        ({}, "which column holds the label"),
    ],
)
def test_bad_arguments_say_what_is_wrong(cancer, cancer_model, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        evaluate(cancer_model, cancer, robustness=False, importance=False, **kwargs)


class Untouchable:
    """A predictor that fails the test if it is ever asked for a prediction."""

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        raise AssertionError("options are checked before the model is called")


def test_bad_options_are_refused_before_the_model_runs(cancer):
    with pytest.raises(InvalidInput, match="n_bins=0"):
        evaluate(Untouchable(), cancer, label="target", n_bins=0)


def test_an_options_object_gives_the_same_result_as_keywords(cancer, cancer_model):
    options = EvaluationOptions(
        label="target", features=tuple(FEATURES), robustness=False, importance=False, seed=4
    )
    by_object = evaluate(cancer_model, cancer, options)
    by_keywords = evaluate(
        cancer_model,
        cancer,
        label="target",
        features=FEATURES,
        robustness=False,
        importance=False,
        seed=4,
    )
    assert by_object.to_dict() == by_keywords.to_dict()
    # keywords given with an options object override it, and the object is unchanged
    shifted = evaluate(cancer_model, cancer, options, min_slice_size=5)
    assert shifted.params["min_slice_size"] == 5 and options.min_slice_size == 30


class Wrapped:
    """A model wrapper in the registry's shape: declared task, ``classes`` and feature names."""

    task = "classification"

    def __init__(self, model, features: list[str]) -> None:
        self.model, self.feature_names, self.classes = model, features, list(model.classes_)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return self.model.predict(frame)

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        return self.model.predict_proba(frame)


def test_wrapper_attributes_are_honoured(cancer, cancer_model, result):
    wrapped = Wrapped(cancer_model, FEATURES)
    r = evaluate(wrapped, cancer, label="target", robustness=False, importance=False)
    assert r.features == FEATURES
    assert r.classes == [0, 1]
    assert r.metrics == result.metrics


def test_numeric_sensitive_columns_are_grouped_into_bins(cancer, cancer_model):
    r = evaluate(
        cancer_model,
        cancer,
        label="target",
        sensitive=["mean_texture"],
        robustness=False,
        importance=False,
        slice_columns=["mean_texture"],
    )
    groups = r.fairness["mean_texture"].groups
    assert len(groups) == 4
    assert {g: v["count"] for g, v in groups.items()} == {
        s.value: s.n for s in r.slices if s.column == "mean_texture"
    }

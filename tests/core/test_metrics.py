from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler

from aims.core.calibration import expected_calibration_error, reliability
from aims.core.metric_catalog import METRICS, check_metric_name, metric_direction
from aims.core.metrics import calibration, classification_metrics, regression_metrics
from aims.errors import InvalidInput


@pytest.fixture(scope="module")
def binary():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = LogisticRegression(max_iter=2000).fit(X[::2], y[::2])
    return y[1::2], model.predict(X[1::2]), model.predict_proba(X[1::2])


def test_binary_metrics_equal_sklearn(binary):
    y, pred, proba = binary
    m = classification_metrics(y, pred, proba, classes=[0, 1])
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred), abs=1e-12)
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, proba[:, 1]), abs=1e-12)
    assert m["selection_rate"] == pytest.approx(np.mean(pred == 1), abs=1e-12)
    assert set(m) <= set(METRICS)


def test_pos_label_switches_the_positive_class(binary):
    y, pred, proba = binary
    m = classification_metrics(y, pred, proba, classes=[0, 1], pos_label=0)
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, pos_label=0), abs=1e-12)
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label=0), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y == 0, proba[:, 0]), abs=1e-12)


def test_string_labels_follow_the_class_order(binary):
    y, pred, proba = binary
    names = np.array(["benign", "malignant"])
    m = classification_metrics(names[y], names[pred], proba, classes=list(names))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)


def test_multiclass_metrics_equal_sklearn():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = LogisticRegression(C=0.05, max_iter=2000).fit(X[::2], y[::2])
    yt, pred, proba = y[1::2], model.predict(X[1::2]), model.predict_proba(X[1::2])
    m = classification_metrics(yt, pred, proba, classes=[0, 1, 2])
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(yt, pred), abs=1e-12)
    assert m["f1"] == pytest.approx(skm.f1_score(yt, pred, average="macro"), abs=1e-12)
    assert m["precision"] == pytest.approx(
        skm.precision_score(yt, pred, average="macro", zero_division=0), abs=1e-12
    )
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(yt, proba, multi_class="ovr"), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(yt, proba), abs=1e-12)
    # Multiclass Brier score in closed form: mean over rows of sum_k (onehot - p)^2.
    onehot = np.eye(3)[yt]
    assert m["brier"] == pytest.approx(np.mean(np.sum((onehot - proba) ** 2, axis=1)), abs=1e-12)
    assert "selection_rate" not in m
    # Top-label ECE by hand: confidence of the predicted class against being right.
    conf = proba.max(axis=1)
    right = (proba.argmax(axis=1) == yt).astype(float)
    assert m["ece"] == pytest.approx(expected_calibration_error(right, conf), abs=1e-12)


def test_metrics_without_probabilities_leave_probability_metrics_out(binary):
    y, pred, _ = binary
    m = classification_metrics(y, pred, classes=[0, 1])
    assert not {"roc_auc", "log_loss", "brier", "ece"} & set(m)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))


def test_roc_auc_is_left_out_when_one_class_is_present():
    m = classification_metrics([1, 1, 1], [1, 0, 1], np.array([[0.2, 0.8]] * 3), classes=[0, 1])
    assert "roc_auc" not in m
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_unknown_labels_are_refused():
    with pytest.raises(InvalidInput, match="not among the model's classes"):
        classification_metrics([0, 1, 2], [0, 1, 1], classes=[0, 1])


def test_wrong_probability_shape_is_refused():
    with pytest.raises(InvalidInput, match="one column per class"):
        classification_metrics([0, 1], [0, 1], np.array([0.2, 0.8]), classes=[0, 1])


def test_regression_metrics_equal_sklearn():
    X, y = load_diabetes(return_X_y=True)
    pred = LinearRegression().fit(X[::2], y[::2]).predict(X[1::2])
    yt = y[1::2]
    m = regression_metrics(yt, pred)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(yt, pred), abs=1e-9)
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(yt, pred)), abs=1e-9)
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(yt, pred), abs=1e-12)
    assert m["r2"] == pytest.approx(skm.r2_score(yt, pred), abs=1e-12)


def test_r2_is_left_out_for_a_constant_target():
    m = regression_metrics([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert "r2" not in m
    assert m["mae"] == pytest.approx(2 / 3)


def test_regression_refuses_nan():
    with pytest.raises(InvalidInput, match="finite"):
        regression_metrics([1.0, np.nan], [1.0, 2.0])


def test_ece_hand_computed_case():
    # Five bins of width 0.2:
    #   [0.0, 0.2): p = 0.10, 0.15 -> mean 0.125, observed 0/2 -> gap 0.125
    #   [0.2, 0.4): p = 0.30       -> mean 0.300, observed 1/1 -> gap 0.700
    #   [0.4, 0.6): p = 0.50, 0.55 -> mean 0.525, observed 1/2 -> gap 0.025
    #   [0.6, 0.8): empty
    #   [0.8, 1.0]: p = 0.9, 0.95, 1.0 -> mean 0.95, observed 3/3 -> gap 0.050
    # ECE = (2*0.125 + 1*0.7 + 2*0.025 + 3*0.05) / 8 = 1.15 / 8
    p = [0.10, 0.15, 0.30, 0.50, 0.55, 0.90, 0.95, 1.00]
    y = [0, 0, 1, 1, 0, 1, 1, 1]
    cal = reliability(y, p, n_bins=5)
    assert cal.ece == pytest.approx(0.14375, abs=1e-12)
    assert cal.mce == pytest.approx(0.7, abs=1e-12)
    assert [b.count for b in cal.bins] == [2, 1, 2, 0, 3]
    assert cal.bins[3].mean_predicted is None
    assert cal.bins[4].mean_predicted == pytest.approx(0.95)
    assert cal.bins[2].observed_rate == pytest.approx(0.5)


def test_ece_bin_edges_are_lower_inclusive_and_one_is_in_the_last_bin():
    cal = reliability([1, 0, 1], [0.5, 0.0, 1.0], n_bins=2)
    assert [b.count for b in cal.bins] == [1, 2]


def test_ece_matches_sklearn_calibration_curve():
    rng = np.random.default_rng(3)
    p = rng.random(5_000)
    y = (rng.random(5_000) < p**1.5).astype(int)
    cal = reliability(y, p, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.histogram(p, bins=np.linspace(0, 1, 11))[0]
    counts = counts[counts > 0]
    expected = float(np.sum(counts * np.abs(prob_true - prob_pred)) / counts.sum())
    assert cal.ece == pytest.approx(expected, abs=1e-12)


def test_perfectly_calibrated_probabilities_have_small_ece():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = rng.random(200_000) < p
    assert expected_calibration_error(y, p, n_bins=10) < 0.01


def test_calibration_of_binary_proba_uses_the_positive_class(binary):
    y, _, proba = binary
    cal = calibration(y, proba, classes=[0, 1])
    assert cal.kind == "positive_class"
    assert cal.ece == pytest.approx(expected_calibration_error(y, proba[:, 1]), abs=1e-12)
    assert sum(b.count for b in cal.bins) == len(y)


@pytest.mark.parametrize(
    ("p", "n_bins", "message"),
    [([0.5, 1.2], 10, "within"), ([0.5, np.nan], 10, "finite"), ([0.5, 0.5], 0, "n_bins")],
)
def test_reliability_refuses_bad_input(p, n_bins, message):
    with pytest.raises(InvalidInput, match=message):
        reliability([0, 1], p, n_bins=n_bins)


def test_metric_directions():
    assert metric_direction("accuracy") is True
    assert metric_direction("ece") is False
    assert metric_direction("slice.worst.mae") is False
    assert metric_direction("slice.sex=F.recall") is True
    assert metric_direction("fairness.sex.demographic_parity_difference") is False
    assert metric_direction("fairness.sex.demographic_parity_ratio") is True
    assert metric_direction("fairness.sex.difference.accuracy") is False
    assert metric_direction("fairness.sex.ratio.accuracy") is True
    assert metric_direction("fairness.sex=F.false_positive_rate") is False
    assert metric_direction("robustness.noise.delta.rmse") is False
    assert metric_direction("importance.age") is None
    assert metric_direction("selection_rate") is None


@pytest.mark.parametrize(
    "name",
    [
        "roc_auc",
        "slice.min.accuracy",
        "slice.worst.mae",
        "slice.age=[18, 30).f1",
        "fairness.sex.equalized_odds_difference",
        "fairness.*.demographic_parity_ratio",
        "fairness.sex.difference.recall",
        "fairness.sex=F.selection_rate",
        "robustness.noise.accuracy",
        "robustness.missing.delta.r2",
        "importance.age",
    ],
)
def test_well_formed_metric_names_pass(name):
    check_metric_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("rocauc", "unknown metric"),
        ("slice.accuracy", "slice.min"),
        ("slice.min.foo", "'foo' is not a metric"),
        ("fairness.sex.parity", "not a fairness statistic"),
        ("robustness.storm.accuracy", "robustness.<scenario>"),
        ("calibration.ece", "not a prefix"),
        (" accuracy", "padded"),
    ],
)
def test_malformed_metric_names_are_refused(name, message):
    with pytest.raises(InvalidInput, match=message):
        check_metric_name(name)

"""Model quality metrics: classification, regression and calibration.

Metric values come from scikit-learn wherever it has them, so that a figure
aims reports is the figure a data scientist gets in a notebook. Expected
calibration error is computed here (scikit-learn has none) on equal-width bins
with an explicit ``n_bins``.

Every metric has an entry in :data:`METRICS` that says which task it belongs
to and whether higher values are better; gates and champion/challenger
comparisons read the direction from there.

Conventions
-----------
* Binary classification: precision, recall and F1 are for the positive class
  (the second entry of ``classes``, as in scikit-learn, unless ``pos_label`` is
  given); ROC AUC, log loss, Brier score and ECE use the probability of that
  class.
* Multiclass: precision, recall and F1 are macro averages, ROC AUC is the
  one-vs-rest macro average, Brier score is the sum over classes of squared
  errors (scikit-learn's unscaled multiclass form) and ECE is the top-label
  calibration error (confidence of the predicted class against its accuracy).
* A metric that is undefined for the data (ROC AUC with one class present,
  probability metrics without probabilities) is left out of the result rather
  than reported as NaN.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn import metrics as skm

from aims.errors import InvalidInput

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")
DEFAULT_N_BINS = 10


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures and which way is better."""

    name: str
    task: Task
    higher_is_better: bool | None
    """``None`` for figures with no better direction (``selection_rate``)."""
    needs_proba: bool
    description: str


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("accuracy", "classification", True, False, "share of correct predictions"),
        MetricInfo("balanced_accuracy", "classification", True, False, "mean recall over classes"),
        MetricInfo("precision", "classification", True, False, "positive predictive value"),
        MetricInfo("recall", "classification", True, False, "true positive rate"),
        MetricInfo("f1", "classification", True, False, "harmonic mean of precision and recall"),
        MetricInfo("roc_auc", "classification", True, True, "area under the ROC curve"),
        MetricInfo("log_loss", "classification", False, True, "cross-entropy of probabilities"),
        MetricInfo("brier", "classification", False, True, "mean squared probability error"),
        MetricInfo("ece", "classification", False, True, "expected calibration error"),
        MetricInfo("mce", "classification", False, True, "maximum calibration error over bins"),
        MetricInfo(
            "selection_rate", "classification", None, False, "share predicted positive (binary)"
        ),
        MetricInfo("mae", "regression", False, False, "mean absolute error"),
        MetricInfo("rmse", "regression", False, False, "root mean squared error"),
        MetricInfo("mape", "regression", False, False, "mean absolute percentage error"),
        MetricInfo("r2", "regression", True, False, "coefficient of determination"),
    )
}
"""Every metric aims computes, by name."""


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability diagram."""

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class Calibration:
    """A reliability diagram on equal-width bins and the errors read from it."""

    kind: Literal["positive_class", "top_label"]
    n_bins: int
    bins: tuple[CalibrationBin, ...]
    ece: float
    mce: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n_bins": self.n_bins,
            "ece": self.ece,
            "mce": self.mce,
            "bins": [vars(b).copy() for b in self.bins],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            kind=data["kind"],
            n_bins=int(data["n_bins"]),
            bins=tuple(CalibrationBin(**b) for b in data["bins"]),
            ece=float(data["ece"]),
            mce=float(data["mce"]),
        )


def reliability(
    outcome: Sequence[float] | np.ndarray,
    prob: Sequence[float] | np.ndarray,
    *,
    n_bins: int = DEFAULT_N_BINS,
    kind: Literal["positive_class", "top_label"] = "positive_class",
) -> Calibration:
    """Bin predicted probabilities and compare them with observed outcomes.

    Bins are equal-width on [0, 1]: bin ``b`` holds ``b/n_bins <= p <
    (b+1)/n_bins``, and the last bin also holds ``p == 1``. The expected
    calibration error is the count-weighted mean of ``|observed - predicted|``
    over non-empty bins; the maximum calibration error is the largest such gap.

    Parameters
    ----------
    outcome
        1 where the event happened (the positive class, or a correct top-label
        prediction), else 0.
    prob
        The predicted probability of that event, in [0, 1].
    n_bins
        Number of equal-width bins.
    kind
        Recorded with the result to say what the probabilities were.

    Examples
    --------
    >>> cal = reliability([0, 1, 1, 1], [0.2, 0.2, 0.8, 0.8], n_bins=2)
    >>> round(cal.ece, 6)
    0.25

    References
    ----------
    Naeini, Cooper, Hauskrecht (2015). Obtaining well calibrated probabilities
    using Bayesian binning. AAAI. Guo, Pleiss, Sun, Weinberger (2017). On
    calibration of modern neural networks. ICML.
    """
    if n_bins < 1:
        raise InvalidInput(f"n_bins must be at least 1, got {n_bins}")
    y = np.asarray(outcome, dtype=float)
    p = np.asarray(prob, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise InvalidInput(
            f"outcome and prob must be 1-D of equal length, got {y.shape} and {p.shape}"
        )
    if y.size == 0:
        raise InvalidInput("cannot compute calibration on zero rows")
    if not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0:
        raise InvalidInput("probabilities must be finite and within [0, 1]")
    # floor(p * n_bins) puts p exactly on an inner edge into the upper bin; clip
    # keeps p == 1 in the last bin instead of an extra one.
    idx = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    bins = []
    ece = 0.0
    mce = 0.0
    for b in range(n_bins):
        n = int(counts[b])
        if n == 0:
            bins.append(CalibrationBin(b / n_bins, (b + 1) / n_bins, 0, None, None))
            continue
        mean_p = float(sum_p[b] / n)
        rate = float(sum_y[b] / n)
        gap = abs(rate - mean_p)
        ece += n / y.size * gap
        mce = max(mce, gap)
        bins.append(CalibrationBin(b / n_bins, (b + 1) / n_bins, n, mean_p, rate))
    return Calibration(kind=kind, n_bins=n_bins, bins=tuple(bins), ece=float(ece), mce=mce)


def expected_calibration_error(
    outcome: Sequence[float] | np.ndarray,
    prob: Sequence[float] | np.ndarray,
    *,
    n_bins: int = DEFAULT_N_BINS,
) -> float:
    """Expected calibration error on ``n_bins`` equal-width bins (see :func:`reliability`).

    Examples
    --------
    >>> round(expected_calibration_error([1, 1, 0, 0], [0.9, 0.9, 0.1, 0.1]), 6)
    0.1
    """
    return reliability(outcome, prob, n_bins=n_bins).ece


def class_index(y: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """Position of each label in ``classes``; unknown labels raise ``InvalidInput``."""
    lookup = {_key(c): i for i, c in enumerate(classes)}
    values = np.asarray(y)
    try:
        uniques, inverse = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types that do not sort: map row by row
        uniques, inverse = values, np.arange(values.size)
    positions = np.array([lookup.get(_key(u), -1) for u in uniques], dtype=np.int64)
    unknown = {_plain(u) for u, pos in zip(uniques, positions, strict=True) if pos < 0}
    if unknown:
        shown = ", ".join(repr(v) for v in sorted(unknown, key=str)[:5])
        raise InvalidInput(
            f"label values {shown} are not among the model's classes "
            f"{[_plain(c) for c in classes]}; check the label column"
        )
    return positions[inverse.reshape(-1)] if values.size else np.empty(0, dtype=np.int64)


def _key(value: Any) -> Any:
    # Python, NumPy and Polars scalars of the same value must meet in one dict key.
    return value.item() if isinstance(value, np.generic) else value


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    proba: np.ndarray | None = None,
    *,
    classes: Sequence[Any],
    pos_label: Any = None,
    n_bins: int = DEFAULT_N_BINS,
) -> dict[str, float]:
    """Classification metrics keyed by the names in :data:`METRICS`.

    Parameters
    ----------
    y_true, y_pred
        True and predicted labels.
    proba
        Predicted probabilities, shape ``(n, len(classes))`` with columns in the
        order of ``classes``; without it the probability metrics are left out.
    classes
        Every class the model knows, in the order of ``proba``'s columns.
    pos_label
        Positive class for binary problems; defaults to ``classes[1]``.
    n_bins
        Bins for the expected and maximum calibration error.

    Examples
    --------
    >>> m = classification_metrics([0, 1, 1, 0], [0, 1, 0, 0], classes=[0, 1])
    >>> m["accuracy"], m["recall"]
    (0.75, 0.5)
    """
    k = len(classes)
    if k < 2:
        raise InvalidInput(f"a classifier needs at least two classes, got {list(classes)}")
    yt = class_index(np.asarray(y_true), classes)
    yp = class_index(np.asarray(y_pred), classes)
    pos = 1 if pos_label is None else _position(pos_label, classes)
    return indexed_classification_metrics(yt, yp, proba, n_classes=k, pos=pos, n_bins=n_bins)


def indexed_classification_metrics(
    yt: np.ndarray,
    yp: np.ndarray,
    proba: np.ndarray | None = None,
    *,
    n_classes: int,
    pos: int = 1,
    n_bins: int = DEFAULT_N_BINS,
    only: Collection[str] | None = None,
) -> dict[str, float]:
    """:func:`classification_metrics` on class positions (``0 .. n_classes-1``).

    ``pos`` is the position of the positive class of a binary problem; ``only``
    restricts the result to the named metrics, which saves time in loops.
    """
    if yt.size == 0:
        raise InvalidInput("cannot compute metrics on zero rows")

    def want(*names: str) -> bool:
        return only is None or any(n in only for n in names)

    k = n_classes
    labels = np.arange(k)
    binary = k == 2
    out: dict[str, float] = {}
    if want("accuracy"):
        out["accuracy"] = float(skm.accuracy_score(yt, yp))
    if want("balanced_accuracy", "precision", "recall", "f1"):
        # One call gives every per-class figure; the binary scores are the
        # positive class's entries and the macro scores their means, exactly as
        # scikit-learn's averaging computes them.
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            yt, yp, labels=labels, average=None, zero_division=0
        )
        # Balanced accuracy is the mean recall over the classes present in y_true.
        out["balanced_accuracy"] = float(np.mean(recall[support > 0]))
        pick = (lambda v: v[pos]) if binary else np.mean
        out["precision"] = float(pick(precision))
        out["recall"] = float(pick(recall))
        out["f1"] = float(pick(f1))
    if binary and want("selection_rate"):
        out["selection_rate"] = float(np.mean(yp == pos))
    if proba is None or not want("roc_auc", "brier", "log_loss", "ece", "mce"):
        return _only(out, only)
    p = _check_proba(proba, yt.size, k)
    present = np.unique(yt)
    if binary:
        event = yt == pos
        score = p[:, pos]
        if present.size == 2 and want("roc_auc"):
            out["roc_auc"] = float(skm.roc_auc_score(event, score))
        if want("brier"):
            out["brier"] = float(skm.brier_score_loss(event, score))
        if want("ece", "mce"):
            cal = reliability(event.astype(float), score, n_bins=n_bins)
            out["ece"], out["mce"] = cal.ece, cal.mce
    else:
        if present.size == k and want("roc_auc"):
            out["roc_auc"] = float(skm.roc_auc_score(yt, p, multi_class="ovr", labels=labels))
        if want("brier"):
            out["brier"] = float(skm.brier_score_loss(yt, p, labels=labels))
        if want("ece", "mce"):
            cal = top_label_calibration(yt, p, n_bins=n_bins)
            out["ece"], out["mce"] = cal.ece, cal.mce
    if want("log_loss"):
        out["log_loss"] = float(skm.log_loss(yt, p, labels=labels))
    return _only(out, only)


def _only(values: dict[str, float], only: Collection[str] | None) -> dict[str, float]:
    return values if only is None else {k: v for k, v in values.items() if k in only}


def calibration(
    y_true: Sequence[Any] | np.ndarray,
    proba: np.ndarray,
    *,
    classes: Sequence[Any],
    pos_label: Any = None,
    n_bins: int = DEFAULT_N_BINS,
) -> Calibration:
    """The reliability diagram matching the ``ece`` of :func:`classification_metrics`."""
    yt = class_index(np.asarray(y_true), classes)
    p = _check_proba(proba, yt.size, len(classes))
    if len(classes) == 2:
        pos = 1 if pos_label is None else _position(pos_label, classes)
        return reliability((yt == pos).astype(float), p[:, pos], n_bins=n_bins)
    return top_label_calibration(yt, p, n_bins=n_bins)


def top_label_calibration(
    y_index: np.ndarray, proba: np.ndarray, *, n_bins: int = DEFAULT_N_BINS
) -> Calibration:
    """Calibration of the confidence in the predicted class (multiclass ECE)."""
    top = np.argmax(proba, axis=1)
    correct = (top == y_index).astype(float)
    conf = proba[np.arange(len(top)), top]
    return reliability(correct, conf, n_bins=n_bins, kind="top_label")


def _position(label: Any, classes: Sequence[Any]) -> int:
    for i, c in enumerate(classes):
        if _key(c) == _key(label):
            return i
    raise InvalidInput(
        f"pos_label {label!r} is not one of the model's classes {[_plain(c) for c in classes]}"
    )


def _check_proba(proba: np.ndarray, n: int, k: int) -> np.ndarray:
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape != (n, k):
        raise InvalidInput(
            f"predict_proba returned shape {p.shape}; expected ({n}, {k}), one column per class"
        )
    if not np.all(np.isfinite(p)):
        raise InvalidInput("predict_proba returned NaN or infinite values")
    return p


def regression_metrics(
    y_true: Sequence[float] | np.ndarray,
    y_pred: Sequence[float] | np.ndarray,
    *,
    only: Collection[str] | None = None,
) -> dict[str, float]:
    """Regression metrics keyed by the names in :data:`METRICS`.

    MAPE follows scikit-learn: a relative error against ``max(|y|, eps)``, so
    targets at or near zero make it very large; prefer MAE there. R² is left out
    for fewer than two rows or a constant target, where it is undefined.

    Examples
    --------
    >>> m = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    >>> round(m["mae"], 4), round(m["rmse"], 4)
    (0.6667, 1.1547)
    """
    yt = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    if yt.shape != yp.shape or yt.ndim != 1:
        raise InvalidInput(
            f"y_true and y_pred must be 1-D of equal length, got {yt.shape}, {yp.shape}"
        )
    if yt.size == 0:
        raise InvalidInput("cannot compute metrics on zero rows")
    if not (np.all(np.isfinite(yt)) and np.all(np.isfinite(yp))):
        raise InvalidInput("regression targets and predictions must be finite (no NaN or inf)")
    want = set(METRICS) if only is None else set(only)
    out = {}
    if "mae" in want:
        out["mae"] = float(skm.mean_absolute_error(yt, yp))
    if "rmse" in want:
        out["rmse"] = float(skm.root_mean_squared_error(yt, yp))
    if "mape" in want:
        out["mape"] = float(skm.mean_absolute_percentage_error(yt, yp))
    if "r2" in want and yt.size >= 2 and np.ptp(yt) > 0:
        out["r2"] = float(skm.r2_score(yt, yp))
    return out


def higher_is_better(metric: str) -> bool | None:
    """Direction of a base metric name, or ``None`` when it is not one of :data:`METRICS`."""
    info = METRICS.get(metric)
    return None if info is None else info.higher_is_better


# --- names of figures in an evaluation --------------------------------------------

SCENARIOS = ("noise", "missing")
"""Robustness scenarios: Gaussian noise on numeric inputs, and missing values."""
FAIRNESS_STATISTICS: dict[str, bool] = {
    "demographic_parity_difference": False,
    "demographic_parity_ratio": True,
    "equalized_odds_difference": False,
    "equalized_odds_ratio": True,
}
"""Fairness statistics by name, with whether higher values are better."""
GROUP_METRICS: dict[str, bool | None] = {"false_positive_rate": False, "count": None}
"""Per-group figures beyond :data:`METRICS`, with whether higher values are better."""
SLICE_AGGREGATES = ("min", "max", "worst")


def metric_direction(name: str) -> bool | None:
    """``True`` if higher values of a named figure are better, ``False`` if lower, else ``None``.

    Names follow :mod:`aims.core.evaluation`: ``roc_auc``, ``slice.worst.f1``,
    ``fairness.sex.demographic_parity_difference``, ``robustness.noise.delta.mae`` ...

    Examples
    --------
    >>> metric_direction("roc_auc"), metric_direction("slice.worst.log_loss")
    (True, False)
    >>> metric_direction("fairness.sex.ratio.recall"), metric_direction("importance.age")
    (True, None)
    """
    head, _, rest = name.partition(".")
    if head == "importance":
        return None
    where, _, last = rest.rpartition(".") if rest else ("", "", head)
    if head == "fairness" and "=" not in where:
        if last in FAIRNESS_STATISTICS:
            return FAIRNESS_STATISTICS[last]
        kind = where.rpartition(".")[2]
        if kind == "difference":
            return False
        if kind == "ratio":
            return True
    if last in GROUP_METRICS:
        return GROUP_METRICS[last]
    return higher_is_better(last)


def check_metric_name(name: str) -> None:
    """Raise ``InvalidInput`` unless ``name`` is a well-formed figure name.

    ``*`` is accepted where a column, value, group, feature or metric would go.

    Examples
    --------
    >>> check_metric_name("fairness.*.equalized_odds_difference")
    >>> check_metric_name("rocauc")
    Traceback (most recent call last):
    ...
    aims.errors.InvalidInput: metric name 'rocauc': unknown metric; use one of ...
    """
    known = set(METRICS) | set(GROUP_METRICS)
    listing = ", ".join(sorted(METRICS))

    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"metric name {name!r}: {why}")

    def need_metric(metric: str) -> None:
        if metric not in known and metric != "*":
            raise bad(f"{metric!r} is not a metric; use one of {listing}")

    if not name or name != name.strip():
        raise bad("empty or padded with spaces")
    head, _, rest = name.partition(".")
    if not rest:
        if head not in METRICS:
            raise bad(
                f"unknown metric; use one of {listing}, or a name starting slice., "
                "fairness., robustness., importance. or shap."
            )
        return
    where, _, last = rest.rpartition(".")
    if head == "slice":
        if where not in (*SLICE_AGGREGATES, "*") and "=" not in where:
            raise bad(
                "use slice.min.<metric>, slice.max.<metric>, slice.worst.<metric> "
                "or slice.<column>=<value>.<metric>"
            )
        need_metric(last)
    elif head == "fairness":
        if not where:
            raise bad("use fairness.<column>.<statistic> or fairness.<column>=<group>.<metric>")
        kind = where.rpartition(".")[2]
        if "=" in where or (kind in ("difference", "ratio") and "." in where):
            need_metric(last)
        elif last not in FAIRNESS_STATISTICS and last != "*":
            raise bad(
                f"{last!r} is not a fairness statistic; use one of "
                f"{', '.join(FAIRNESS_STATISTICS)}, difference.<metric> or ratio.<metric>"
            )
    elif head == "robustness":
        scenario, _, tail = rest.partition(".")
        if scenario not in (*SCENARIOS, "*") or not tail:
            raise bad(
                f"use robustness.<scenario>.<metric> with a scenario in {', '.join(SCENARIOS)}"
            )
        need_metric(tail.removeprefix("delta."))
    elif head not in ("importance", "shap"):
        raise bad(
            f"{head!r} is not a prefix; use slice., fairness., robustness., importance. or shap."
        )


__all__ = [
    "DEFAULT_N_BINS",
    "FAIRNESS_STATISTICS",
    "GROUP_METRICS",
    "METRICS",
    "SCENARIOS",
    "SLICE_AGGREGATES",
    "TASKS",
    "Calibration",
    "CalibrationBin",
    "MetricInfo",
    "Task",
    "calibration",
    "check_metric_name",
    "class_index",
    "classification_metrics",
    "expected_calibration_error",
    "higher_is_better",
    "indexed_classification_metrics",
    "metric_direction",
    "regression_metrics",
    "reliability",
    "top_label_calibration",
]

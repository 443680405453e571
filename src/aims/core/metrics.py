"""Model quality metrics: classification and regression figures from labels and predictions.

Metric values come from scikit-learn wherever it has them, so that a figure
aims reports is the figure a data scientist gets in a notebook. Calibration
(ECE, reliability diagrams) lives in :mod:`aims.core.calibration`; which
metrics exist and which way is better, in :mod:`aims.core.metric_catalog`.

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
from typing import Any

import numpy as np

from aims.core.calibration import (
    DEFAULT_N_BINS,
    Calibration,
    reliability,
    top_label_calibration,
)
from aims.core.metric_catalog import METRICS
from aims.errors import InvalidInput


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
    # Imported on use, so that a process never calling this skips its ~100 MB.
    from sklearn import metrics as skm

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
    # Imported on use, so that a process never calling this skips its ~100 MB.
    from sklearn import metrics as skm

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


__all__ = [
    "calibration",
    "class_index",
    "classification_metrics",
    "indexed_classification_metrics",
    "regression_metrics",
]

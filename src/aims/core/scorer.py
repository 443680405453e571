"""The scorer: predicts with a model and measures the predictions with fixed classes.

An evaluation scores the same model many times (overall, per slice, under
perturbation, with a feature shuffled); a :class:`Scorer` built once fixes the
task, the classes and the positive class, so every subset is scored alike.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

import numpy as np
import polars as pl

from aims.core.metric_catalog import TASKS, Task
from aims.core.metrics import class_index, indexed_classification_metrics, regression_metrics
from aims.errors import InvalidInput


def infer_task(predictor: Any, y: pl.Series, max_categories: int) -> Task:
    """The task of ``predictor`` on labels ``y`` (see :func:`aims.core.evaluation.evaluate`)."""
    declared = getattr(predictor, "task", None)
    if declared in TASKS:
        return cast(Task, declared)
    if classes_of(predictor) is not None or callable(getattr(predictor, "predict_proba", None)):
        return "classification"
    if y.dtype == pl.Boolean or not y.dtype.is_numeric():
        return "classification"
    if y.dtype.is_integer() and y.n_unique() <= max_categories:
        return "classification"
    return "regression"


class Scorer:
    """Predicts and measures with fixed classes, so every subset is scored alike.

    Labels are encoded once: class positions for classification, floats for
    regression. ``predict`` returns predictions in the same encoding.
    """

    def __init__(
        self,
        predictor: Any,
        task: Task,
        classes: list[Any] | None,
        pos_label: Any,
        use_proba: bool,
        n_bins: int,
    ) -> None:
        self.predictor = predictor
        self.task = task
        self.classes = classes
        self.pos_label = pos_label
        self.pos = 1
        if classes is not None and pos_label is not None:
            self.pos = int(class_index(np.asarray([pos_label]), classes)[0])
        self.use_proba = use_proba
        self.n_bins = n_bins

    @classmethod
    def build(
        cls,
        predictor: Any,
        X: pl.DataFrame,
        y_true: np.ndarray,
        task: Task,
        pos_label: Any,
        n_bins: int,
    ) -> Scorer:
        """A scorer for ``predictor``: its classes and positive class read once, from it or ``y_true``."""
        if task == "regression":
            return cls(predictor, task, None, None, False, n_bins)
        known = classes_of(predictor)
        use_proba = callable(getattr(predictor, "predict_proba", None))
        if known is not None:
            classes = list(known)
        else:
            # Without classes_ the order of predict_proba's columns is unknown,
            # so probabilities are not used; the labels seen stand in for classes.
            preds = to_array(predictor.predict(X)).reshape(-1)
            classes = list(np.unique(np.concatenate([y_true, preds])))
            use_proba = False
        if len(classes) < 2:
            raise InvalidInput(
                f"classification needs at least two classes; saw only {classes}; "
                "check the label column or pass task='regression'"
            )
        if len(classes) > 2:
            pos_label = None  # multiclass scores are macro averages, no positive class
        elif pos_label is None:
            pos_label = classes[1]
        return cls(predictor, task, classes, pos_label, use_proba, n_bins)

    def encode(self, y: np.ndarray) -> np.ndarray:
        """Labels as class positions (classification) or floats (regression)."""
        if self.classes is None:
            return np.asarray(y, dtype=float)
        return class_index(y, self.classes)

    def predict(self, X: pl.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Encoded predictions for ``X`` and, when used, the class probabilities."""
        y_pred = to_array(self.predictor.predict(X))
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred[:, 0]
        if y_pred.shape != (X.height,):
            raise InvalidInput(
                f"predict returned shape {y_pred.shape}; expected ({X.height},), one per row"
            )
        proba = to_array(self.predictor.predict_proba(X)) if self.use_proba else None
        return self.encode(y_pred), proba

    def metrics(
        self,
        yt: np.ndarray,
        yp: np.ndarray,
        proba: np.ndarray | None,
        only: Collection[str] | None = None,
    ) -> dict[str, float]:
        """The metrics of encoded labels and predictions (``only`` names a subset)."""
        if self.classes is None:
            return regression_metrics(yt, yp, only=only)
        return indexed_classification_metrics(
            yt, yp, proba, n_classes=len(self.classes), pos=self.pos, n_bins=self.n_bins, only=only
        )

    def default_importance_metric(self) -> str:
        """ROC AUC for a binary classifier with probabilities, accuracy for others, R² for a regressor."""
        if self.task == "regression":
            return "r2"
        if self.use_proba and self.classes is not None and len(self.classes) == 2:
            return "roc_auc"
        return "accuracy"


def classes_of(predictor: Any) -> list[Any] | None:
    """The predictor's classes in ``predict_proba`` column order: ``classes_`` or ``classes``."""
    for attr in ("classes_", "classes"):
        value = getattr(predictor, attr, None)
        if isinstance(value, list | tuple | np.ndarray | pl.Series):
            return list(value)
    return None


def to_array(values: Any) -> np.ndarray:
    """A model's output (Polars series or frame, list, array) as a NumPy array."""
    if isinstance(values, pl.Series | pl.DataFrame):
        return values.to_numpy()
    return np.asarray(values)


__all__ = ["Scorer", "classes_of", "infer_task", "to_array"]

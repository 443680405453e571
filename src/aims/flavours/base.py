"""The one interface every model flavour offers."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from aims.errors import InvalidInput


class LoadedModel(abc.ABC):
    """A loaded model: ``predict`` and, for classifiers, ``predict_proba``.

    Inputs are tables of feature columns (Polars, pandas or a dict of columns);
    columns are picked by ``feature_names``, so extra columns are ignored and a
    missing one is a clear error.
    """

    flavour: str = ""
    feature_names: list[str] | None = None
    classes_: list[Any] | None = None
    task: str = "regression"

    def frame(self, data: Any) -> pl.DataFrame:
        """The input as a Polars frame holding exactly the feature columns, in order."""
        from aims.core.frames import to_polars

        frame = to_polars(data)
        if self.feature_names is None:
            return frame
        missing = [c for c in self.feature_names if c not in frame.columns]
        if missing:
            raise InvalidInput(
                f"input lacks feature column(s) {', '.join(missing)}; the model needs "
                f"{', '.join(self.feature_names)}"
            )
        return frame.select(self.feature_names)

    @abc.abstractmethod
    def predict(self, data: Any) -> np.ndarray:
        """Predicted class labels (classifiers) or values (regressors)."""

    def predict_proba(self, data: Any) -> np.ndarray | None:
        """Class probabilities, shape (n, len(classes_)), or None when the model has none."""
        return None

    @abc.abstractmethod
    def estimator_name(self) -> str:
        """A short name of the underlying estimator."""

    def params(self) -> dict[str, Any]:
        return {}

    def describe(self) -> dict[str, Any]:
        """What the registry stores about the model."""
        return {
            "flavour": self.flavour,
            "task": self.task,
            "feature_names": self.feature_names,
            "classes": _plain_list(self.classes_),
            "estimator": self.estimator_name(),
            "params": self.params(),
        }


def _plain_list(values: Sequence[Any] | None) -> list[Any] | None:
    if values is None:
        return None
    return [v.item() if hasattr(v, "item") else v for v in values]


def json_safe(value: Any) -> Any:
    """Parameters made JSON-safe (estimators and other objects become their repr)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if hasattr(value, "item") and np.ndim(value) == 0:
        return value.item()
    return repr(value)[:200]

"""The one interface every model flavour offers: :class:`LoadedModel`."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from aims.errors import InvalidInput

__all__ = ["LoadedModel", "Task", "json_safe"]

Task = Literal["classification", "regression"]


class LoadedModel(abc.ABC):
    """A model ready to predict, whatever format it was stored in.

    Inputs are tables of feature columns: a Polars, pandas or PyArrow table, or
    a dict of columns. When :attr:`feature_names` is known, columns are picked
    by name in that order, so extra columns are ignored and a missing one is an
    :class:`~aims.errors.InvalidInput` naming it; otherwise the table's columns
    are used as they are and only their number is checked.

    Attributes
    ----------
    flavour
        ``"skops"``, ``"onnx"`` or ``"pickle"``.
    feature_names
        The input columns in the order the model expects, or ``None`` when the
        model was trained on an unnamed matrix.
    classes_
        Class labels in the column order of :meth:`predict_proba`, or ``None``.
    task
        ``"classification"`` or ``"regression"``.
    n_features
        The number of input columns when known.
    """

    flavour: str = ""
    feature_names: list[str] | None = None
    classes_: list[Any] | None = None
    task: Task = "regression"
    n_features: int | None = None

    def frame(self, data: Any) -> pl.DataFrame:
        """The input as a Polars frame holding exactly the model's columns, in order.

        Raises
        ------
        InvalidInput
            The input is not a table, lacks a feature column, or (for unnamed
            features) has the wrong number of columns.
        """
        from aims.core.frames import to_polars

        frame = to_polars(data)
        if self.feature_names is not None:
            missing = [c for c in self.feature_names if c not in frame.columns]
            if missing:
                raise InvalidInput(
                    f"input lacks feature column(s) {', '.join(missing)}; the "
                    f"{self.flavour} model needs {', '.join(self.feature_names)}"
                )
            return frame.select(self.feature_names)
        if self.n_features is not None and frame.width != self.n_features:
            raise InvalidInput(
                f"the {self.flavour} model takes {self.n_features} unnamed feature columns "
                f"but the input has {frame.width} ({', '.join(frame.columns)}); pass exactly "
                "the training columns in training order"
            )
        return frame

    @abc.abstractmethod
    def predict(self, data: Any) -> np.ndarray:
        """Predicted class labels (classifiers) or values (regressors), shape ``(n,)``."""

    def predict_proba(self, data: Any) -> np.ndarray | None:
        """Class probabilities, shape ``(n, len(classes_))``, or None when the model has none."""
        return None

    def predict_all(self, data: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`predict` and :meth:`predict_proba` of ``data``, converting the input once.

        The server answers every request with both; for small requests the
        conversion of the input costs about as much as the model itself.
        """
        frame = self.frame(data)
        return self.predict(frame), self.predict_proba(frame)

    @abc.abstractmethod
    def estimator_name(self) -> str:
        """A short name of the underlying estimator (e.g. ``RandomForestClassifier``)."""

    def params(self) -> dict[str, Any]:
        """The model's hyper-parameters, JSON-safe (empty when the format has none)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What the registry stores about the model (JSON-safe).

        Examples
        --------
        >>> import numpy as np
        >>> class Constant(LoadedModel):
        ...     flavour = "demo"
        ...     feature_names = ["x"]
        ...     def predict(self, data):
        ...         return np.zeros(self.frame(data).height)
        ...     def estimator_name(self):
        ...         return "Constant"
        >>> Constant().describe()["feature_names"]
        ['x']
        """
        return {
            "flavour": self.flavour,
            "task": self.task,
            "feature_names": self.feature_names,
            "n_features": self.n_features,
            "classes": json_safe(list(self.classes_)) if self.classes_ is not None else None,
            "estimator": self.estimator_name(),
            "params": self.params(),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.flavour} {self.estimator_name()} ({self.task})>"


def json_safe(value: Any) -> Any:
    """``value`` made JSON-safe: NumPy scalars become Python ones, objects their ``repr``.

    Non-finite floats become ``None`` (JSON has no NaN); nested estimators and
    callables become a ``repr`` cut to 200 characters so a stored record stays small.

    Examples
    --------
    >>> import numpy as np
    >>> json_safe({"C": np.float64(1.5), "classes": np.array([0, 1]), "tol": float("nan")})
    {'C': 1.5, 'classes': [0, 1], 'tol': None}
    """
    if isinstance(value, np.generic):  # before float: np.float64 subclasses float
        return json_safe(value.item())
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()] if value.size <= 1000 else repr(value)[:200]
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [json_safe(v) for v in value]
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)[:200]

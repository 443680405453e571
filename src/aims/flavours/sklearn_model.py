"""A fitted scikit-learn estimator behind :class:`LoadedModel` (the skops and pickle flavours)."""

from __future__ import annotations

from typing import Any

import numpy as np

from aims.errors import InvalidInput
from aims.flavours.array_inputs import array_twin, columns_matrix, twin_outputs
from aims.flavours.base import LoadedModel, json_safe

__all__ = ["SklearnModel"]


class SklearnModel(LoadedModel):
    """Wraps a fitted scikit-learn estimator or pipeline (or anything with ``predict``).

    An estimator fitted on a DataFrame remembers its column names
    (``feature_names_in_``) and checks them at predict time, so it is given a
    pandas DataFrame with those columns; one fitted on a matrix is given a
    NumPy array. When the estimator only uses the names for that check
    (:func:`~aims.flavours.array_inputs.array_twin`), numeric columns given as
    a dict skip pandas and go to it as a float matrix.

    Parameters
    ----------
    estimator
        The fitted object.
    flavour
        How it was stored (``"skops"`` or ``"pickle"``).
    name
        The file or artifact it came from, for error messages.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> m = SklearnModel(LinearRegression().fit(np.c_[[0.0, 1.0, 2.0]], [1.0, 3.0, 5.0]), "pickle")
    >>> m.task, m.n_features, m.predict({"x": [3.0]}).round(6).tolist()
    ('regression', 1, [7.0])
    """

    def __init__(self, estimator: Any, flavour: str, name: str = "model") -> None:
        if isinstance(estimator, type) or not callable(getattr(estimator, "predict", None)):
            raise InvalidInput(
                f"{name}: the {flavour} file holds a {type(estimator).__name__}, not a fitted "
                "model with predict(); save the fitted estimator itself"
            )
        _check_fitted(estimator, flavour, name)
        self.estimator = estimator
        self.flavour = flavour
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names = [str(n) for n in names] if names is not None else None
        n_in = getattr(estimator, "n_features_in_", None)
        self.n_features = int(n_in) if n_in is not None else None
        classes = getattr(estimator, "classes_", None)
        self.classes_ = list(np.asarray(classes).tolist()) if classes is not None else None
        self.task = "classification" if self.classes_ is not None else "regression"
        self._twin = array_twin(estimator, self.feature_names)

    def _x(self, data: Any) -> Any:
        frame = self.frame(data)
        if self.feature_names is not None:
            # Fitted on a DataFrame: scikit-learn checks the column names, and
            # pipelines with a ColumnTransformer select columns by name.
            return frame.to_pandas()
        return frame.to_numpy()

    def predict(self, data: Any) -> np.ndarray:
        return self._predict_x(self._x(data))

    def predict_proba(self, data: Any) -> np.ndarray | None:
        if not self._has_proba():
            return None
        return self._proba_x(self._x(data))

    def predict_all(self, data: Any) -> tuple[np.ndarray, np.ndarray | None]:
        if self._twin is not None and isinstance(data, dict):
            x = columns_matrix(data, self.feature_names)
            answered = None if x is None else twin_outputs(self._twin, x, self._has_proba())
            if answered is not None:
                out, proba = np.asarray(answered[0]), answered[1]
                out = out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out
                return out, None if proba is None else np.asarray(proba, dtype=float)
        x = self._x(data)
        return self._predict_x(x), self._proba_x(x) if self._has_proba() else None

    def _has_proba(self) -> bool:
        return self.classes_ is not None and hasattr(self.estimator, "predict_proba")

    def _predict_x(self, x: Any) -> np.ndarray:
        out = np.asarray(self.estimator.predict(x))
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def _proba_x(self, x: Any) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(x), dtype=float)

    def estimator_name(self) -> str:
        return type(self.estimator).__name__

    def params(self) -> dict[str, Any]:
        get = getattr(self.estimator, "get_params", None)
        if not callable(get):
            return {}
        try:
            return json_safe(get(deep=False))
        except TypeError:  # a non-scikit-learn get_params without ``deep``
            return json_safe(get())


def _check_fitted(estimator: Any, flavour: str, name: str) -> None:
    """Refuse an unfitted scikit-learn estimator now rather than at the first prediction."""
    try:
        from sklearn.base import BaseEstimator
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
    except ImportError:  # not a scikit-learn install: nothing to check
        return
    if not isinstance(estimator, BaseEstimator):
        return
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise InvalidInput(
            f"{name}: the {flavour} file holds an unfitted {type(estimator).__name__}; "
            "fit it before saving"
        ) from None

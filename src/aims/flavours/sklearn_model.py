"""A scikit-learn estimator behind the :class:`LoadedModel` interface (skops or pickle)."""

from __future__ import annotations

from typing import Any

import numpy as np

from aims.flavours.base import LoadedModel, json_safe


class SklearnModel(LoadedModel):
    """Wraps a fitted scikit-learn estimator (or pipeline)."""

    def __init__(self, estimator: Any, flavour: str) -> None:
        if not hasattr(estimator, "predict"):
            from aims.errors import InvalidInput

            raise InvalidInput(
                f"the {flavour} file holds a {type(estimator).__name__}, not a model with predict()"
            )
        self.estimator = estimator
        self.flavour = flavour
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names = [str(n) for n in names] if names is not None else None
        self._pandas = names is not None
        classes = getattr(estimator, "classes_", None)
        self.classes_ = list(classes) if classes is not None else None
        self.task = "classification" if self.classes_ is not None else "regression"

    def _x(self, data: Any) -> Any:
        frame = self.frame(data)
        # Estimators fitted on a DataFrame check column names; give them one.
        return frame.to_pandas() if self._pandas else frame.to_numpy()

    def predict(self, data: Any) -> np.ndarray:
        return np.asarray(self.estimator.predict(self._x(data)))

    def predict_proba(self, data: Any) -> np.ndarray | None:
        if self.classes_ is None or not hasattr(self.estimator, "predict_proba"):
            return None
        return np.asarray(self.estimator.predict_proba(self._x(data)), dtype=float)

    def estimator_name(self) -> str:
        return type(self.estimator).__name__

    def params(self) -> dict[str, Any]:
        get = getattr(self.estimator, "get_params", None)
        return json_safe(get(deep=False)) if get else {}

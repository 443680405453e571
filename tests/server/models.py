"""A model class for tests that must fail at predict time (stored with the trusted pickle flavour)."""

from __future__ import annotations

from typing import Any

import numpy as np


class Exploding:
    """Looks like a fitted classifier with named features; every prediction raises."""

    def __init__(self, feature_names: list[str]) -> None:
        self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.n_features_in_ = len(feature_names)
        self.classes_ = np.asarray([0, 1])

    def predict(self, x: Any) -> np.ndarray:
        raise RuntimeError("this model always fails")

    def predict_proba(self, x: Any) -> np.ndarray:
        raise RuntimeError("this model always fails")

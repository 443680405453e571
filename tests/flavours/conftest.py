"""Small fitted models shared by the flavour tests (fitted once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest


@dataclass(frozen=True)
class Fitted:
    """A fitted estimator, the frame it was fitted on and that frame in Polars."""

    estimator: Any
    x: pd.DataFrame
    y: np.ndarray

    @property
    def frame(self) -> pl.DataFrame:
        return pl.from_pandas(self.x)


def _snake(columns: pd.Index) -> list[str]:
    return [c.replace(" (cm)", "").replace(" ", "_") for c in columns]


@pytest.fixture(scope="session")
def cancer_lr() -> Fitted:
    """LogisticRegression in a pipeline, fitted on breast_cancer as a DataFrame (named features)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = _snake(x.columns)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    return Fitted(model, x, y.to_numpy())


@pytest.fixture(scope="session")
def iris_rf() -> Fitted:
    """RandomForestClassifier fitted on the iris matrix (no feature names)."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    x, y = load_iris(return_X_y=True, as_frame=True)
    x.columns = _snake(x.columns)
    model = RandomForestClassifier(n_estimators=15, random_state=0).fit(x.to_numpy(), y)
    return Fitted(model, x, y.to_numpy())


@pytest.fixture(scope="session")
def diabetes_ridge() -> Fitted:
    """Ridge regression fitted on diabetes as a DataFrame."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    return Fitted(Ridge(alpha=0.5).fit(x, y), x, y.to_numpy())

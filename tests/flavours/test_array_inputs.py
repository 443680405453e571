"""The array path of scikit-learn models: same numbers as the pandas path, taken only when safe."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from aims.errors import InvalidInput
from aims.flavours.sklearn_model import SklearnModel


@pytest.fixture(scope="module")
def cancer():
    bunch = load_breast_cancer(as_frame=True)
    x = bunch.data.rename(columns=lambda c: c.replace(" ", "_"))
    return x, bunch.target.to_numpy()


def columns(frame) -> dict[str, list[float]]:
    return {c: frame[c].tolist() for c in frame.columns}


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        lambda: RandomForestClassifier(n_estimators=5, random_state=0),
        lambda: make_pipeline(StandardScaler(), "passthrough", RandomForestClassifier(3)),
    ],
)
def test_the_array_path_answers_the_training_data_exactly_as_pandas(cancer, make) -> None:
    x, y = cancer
    estimator = make().fit(x, y)
    model = SklearnModel(estimator, "skops")
    assert model._twin is not None
    predictions, proba = model.predict_all(columns(x))
    assert np.array_equal(predictions, estimator.predict(x))
    assert np.array_equal(proba, estimator.predict_proba(x))
    # The original keeps its names: other callers still get the checked path.
    assert list(estimator.feature_names_in_) == list(x.columns)


def test_models_that_select_columns_by_name_keep_the_pandas_path(cancer) -> None:
    x, y = cancer
    by_name = make_pipeline(
        make_column_transformer((StandardScaler(), list(x.columns[:5]))), LogisticRegression()
    ).fit(x, y)
    custom = make_pipeline(FunctionTransformer(lambda f: f), StandardScaler(), LogisticRegression())
    for estimator in (by_name, custom.fit(x, y)):
        model = SklearnModel(estimator, "skops")
        assert model._twin is None
        predictions, _ = model.predict_all(columns(x.head(20)))
        assert np.array_equal(predictions, estimator.predict(x.head(20)))


def test_inputs_that_are_not_all_numbers_take_the_ordinary_path(cancer) -> None:
    x, y = cancer
    model = SklearnModel(make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y), "skops")
    data = columns(x.head(2))
    del data["mean_radius"]
    with pytest.raises(InvalidInput, match="mean_radius"):
        model.predict_all(data)
    data = columns(x.head(2))
    data["mean_radius"] = [None, 1.0]
    with pytest.raises(ValueError, match="NaN"):
        model.predict_all(data)
    # Numbers, but not finite: scikit-learn's own finiteness check still refuses them.
    for bad in (float("nan"), float("inf")):
        data["mean_radius"] = [bad, 1.0]
        with pytest.raises(ValueError, match=r"NaN|infinity"):
            model.predict_all(data)


def test_a_transform_overflowing_to_infinity_is_refused_as_by_the_model_itself(cancer) -> None:
    x, y = cancer
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    model = SklearnModel(estimator, "skops")
    data = columns(x.head(2))
    # Finite, but past the float range once scaled (the column's scale is below 1).
    data["mean_smoothness"] = [1.7e308, 0.1]
    assert float(estimator[0].scale_[list(x.columns).index("mean_smoothness")]) < 1
    with pytest.raises(ValueError, match="infinity") as direct, np.errstate(over="ignore"):
        estimator.predict(x.head(2).assign(mean_smoothness=[1.7e308, 0.1]))
    with pytest.raises(ValueError, match="infinity") as served, np.errstate(over="ignore"):
        model.predict_all(data)
    assert str(served.value) == str(direct.value)

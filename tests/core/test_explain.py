"""SHAP explanations checked against the closed form for additive models."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from aims.core.evaluation import EvaluationResult, evaluate
from aims.core.explain import shap_importance
from aims.errors import InvalidInput


@pytest.fixture(scope="module")
def mixed() -> pl.DataFrame:
    rng = np.random.default_rng(11)
    n = 60
    return pl.DataFrame(
        {
            "a": rng.normal(2.0, 1.5, n),
            "b": rng.integers(0, 10, n),
            "c": rng.choice(["red", "green", "blue"], n),
        }
    )


def test_linear_model_values_equal_the_closed_form(mixed) -> None:
    # For f(x) = w.x + b with an independent masker, the SHAP value of
    # feature i on row x is w_i * (x_i - mean of x_i over the background).
    numeric = mixed.select("a", "b")
    x = numeric.to_numpy().astype(float)
    y = 3.0 * x[:, 0] - 0.5 * x[:, 1] + 1.0
    model = LinearRegression().fit(x, y)

    def output(frame: pl.DataFrame) -> np.ndarray:
        return model.predict(frame.to_numpy().astype(float))

    # Every row explained against every row: the samples are the whole frame.
    got = shap_importance(output, numeric, output_name="y", rows=60, background=60)
    expected = np.abs(model.coef_ * (x - x.mean(axis=0))).mean(axis=0)
    assert got.features == pytest.approx(dict(zip(["a", "b"], expected, strict=True)), rel=1e-9)
    assert (got.rows, got.background, got.output) == (60, 60, "y")


def test_categories_are_explained_through_their_codes(mixed) -> None:
    # An additive model over a one-hot text column: its SHAP value is the
    # coefficient of the row's category minus the background mean of those.
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), ("passthrough", ["a", "b"])),
        LinearRegression(),
    )
    pdf = mixed.to_pandas()
    y = 2.0 * pdf["a"] + pdf["c"].map({"red": 4.0, "green": -1.0, "blue": 0.5})
    pipe.fit(pdf, y)

    def output(frame: pl.DataFrame) -> np.ndarray:
        return pipe.predict(frame.to_pandas())

    got = shap_importance(output, mixed, output_name="y", rows=60, background=60)
    encoder = pipe[0].named_transformers_["onehotencoder"]
    weights = dict(zip(encoder.categories_[0], pipe[-1].coef_[:3], strict=True))
    g = mixed["c"].replace_strict(weights, return_dtype=pl.Float64).to_numpy()
    assert got.features["c"] == pytest.approx(np.abs(g - g.mean()).mean(), rel=1e-9)
    a = mixed["a"].to_numpy()
    assert got.features["a"] == pytest.approx(np.abs(pipe[-1].coef_[3] * (a - a.mean())).mean())


def test_evaluate_with_shap_ranks_the_driving_feature_first() -> None:
    rng = np.random.default_rng(3)
    n = 400
    frame = pl.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "tag": rng.choice(["x", "y"], n),
        }
    )
    label = (frame["signal"].to_numpy() + 0.2 * rng.normal(size=n) > 0).astype(int)
    frame = frame.with_columns(label=pl.Series(label))
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["tag"]), ("passthrough", ["signal", "noise"])),
        LogisticRegression(),
    ).fit(frame.drop("label").to_pandas(), label)

    class Wrapped:
        classes_ = model.classes_
        feature_names = ("signal", "noise", "tag")

        def predict(self, f: pl.DataFrame) -> np.ndarray:
            return model.predict(f.to_pandas())

        def predict_proba(self, f: pl.DataFrame) -> np.ndarray:
            return model.predict_proba(f.to_pandas())

    result = evaluate(
        Wrapped(), frame, label="label", shap=True, shap_rows=30, robustness=False, importance=False
    )
    assert result.shap is not None and result.shap.output == "P(1)"
    ranked = sorted(result.shap.features, key=result.shap.features.get, reverse=True)
    assert ranked[0] == "signal"
    assert result.flat()["shap.signal"] == result.shap.features["signal"]
    again = EvaluationResult.from_dict(result.to_dict())
    assert again.shap == result.shap


def test_missing_shap_package_is_a_clear_error(monkeypatch, mixed) -> None:
    monkeypatch.setitem(sys.modules, "shap", None)  # import now raises ImportError
    with pytest.raises(InvalidInput, match=r"aims\[explain\]"):
        shap_importance(lambda f: np.zeros(f.height), mixed, output_name="y")

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from skops.io import dump

from aims.errors import InvalidInput, NotFound, PermissionDenied
from aims.flavours import describe_model, detect_flavour, load_model
from aims.flavours.onnx_flavour import sklearn_to_onnx


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    bunch = load_iris(as_frame=True)
    x = bunch.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    y = bunch.target.to_numpy()
    folder = tmp_path_factory.mktemp("iris")
    lr = LogisticRegression(max_iter=1000).fit(x, y)
    rf = RandomForestClassifier(n_estimators=20, random_state=0).fit(x.to_numpy(), y)
    return {"x": pl.from_pandas(x), "lr": lr, "rf": rf, "folder": folder}


def test_skops_predictions_equal_the_estimators(iris) -> None:
    path = iris["folder"] / "lr.skops"
    dump(iris["lr"], path)
    model = load_model(path)
    assert model.flavour == "skops" and model.task == "classification"
    assert model.feature_names == iris["x"].columns
    np.testing.assert_array_equal(
        model.predict(iris["x"]), iris["lr"].predict(iris["x"].to_pandas())
    )
    np.testing.assert_allclose(
        model.predict_proba(iris["x"]), iris["lr"].predict_proba(iris["x"].to_pandas())
    )


def test_extra_columns_are_ignored_and_a_missing_one_is_named(iris) -> None:
    path = iris["folder"] / "lr2.skops"
    dump(iris["lr"], path)
    model = load_model(path)
    wider = (
        iris["x"]
        .with_columns(pl.lit(1).alias("extra"))
        .select(["extra", *reversed(iris["x"].columns)])
    )
    np.testing.assert_array_equal(model.predict(wider), model.predict(iris["x"]))
    with pytest.raises(InvalidInput, match="petal_width"):
        model.predict(iris["x"].drop("petal_width"))


def test_onnx_predictions_match_to_1e5(iris) -> None:
    path = iris["folder"] / "rf.onnx"
    names = ["a", "b", "c", "d"]
    sklearn_to_onnx(iris["rf"], names, str(path))
    model = load_model(path)
    assert model.flavour == "onnx" and model.feature_names == names
    x = iris["x"].rename(dict(zip(iris["x"].columns, names, strict=True)))
    np.testing.assert_array_equal(model.predict(x), iris["rf"].predict(x.to_numpy()))
    np.testing.assert_allclose(
        model.predict_proba(x), iris["rf"].predict_proba(x.to_numpy()), atol=1e-5
    )
    assert describe_model(path)["classes"] == [0, 1, 2]


def test_regressor_has_no_probabilities(tmp_path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    path = tmp_path / "ridge.skops"
    dump(Ridge().fit(x, y), path)
    model = load_model(path)
    assert model.task == "regression" and model.predict_proba(pl.from_pandas(x)) is None
    np.testing.assert_allclose(model.predict(pl.from_pandas(x)), Ridge().fit(x, y).predict(x))


def test_pickle_requires_trust(iris, tmp_path) -> None:
    path = tmp_path / "lr.pkl"
    path.write_bytes(pickle.dumps(iris["lr"]))
    with pytest.raises(PermissionDenied, match="--trust"):
        load_model(path)
    assert load_model(path, trust=True).flavour == "pickle"


@pytest.mark.parametrize("suffix", [".skops", ".onnx", ".pkl"])
def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    pl.DataFrame({"a": [1, 2, 3]}).write_csv(path)
    with pytest.raises(InvalidInput, match="not a readable"):
        load_model(path, trust=True)


def test_unknown_suffix_and_missing_file() -> None:
    with pytest.raises(InvalidInput, match=r"\.skops"):
        detect_flavour("model.bin")
    with pytest.raises(NotFound):
        load_model("/no/such/model.skops")

from __future__ import annotations

import json
import operator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from skops.io import dump, dumps

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours import load_model
from aims.flavours.skops_flavour import is_sklearn_class, load, untrusted_types


def test_named_pipeline_predicts_like_the_estimator(tmp_path: Path, cancer_lr) -> None:
    path = tmp_path / "cancer.skops"
    dump(cancer_lr.estimator, path)
    model = load_model(path)
    assert (model.flavour, model.task, model.classes_) == ("skops", "classification", [0, 1])
    assert model.feature_names == list(cancer_lr.x.columns)
    np.testing.assert_array_equal(
        model.predict(cancer_lr.frame), cancer_lr.estimator.predict(cancer_lr.x)
    )
    np.testing.assert_allclose(
        model.predict_proba(cancer_lr.frame), cancer_lr.estimator.predict_proba(cancer_lr.x)
    )


def test_every_table_kind_gives_the_same_predictions(cancer_lr) -> None:
    model = load(dumps(cancer_lr.estimator))
    expected = cancer_lr.estimator.predict_proba(cancer_lr.x)
    as_dict = {c: cancer_lr.x[c].to_list() for c in cancer_lr.x.columns}
    for table in (cancer_lr.x, cancer_lr.frame, cancer_lr.frame.to_arrow(), as_dict):
        np.testing.assert_allclose(model.predict_proba(table), expected)


def test_predict_all_equals_predict_and_predict_proba(cancer_lr, diabetes_ridge) -> None:
    model = load(dumps(cancer_lr.estimator))
    as_dict = {c: cancer_lr.x[c].to_list() for c in cancer_lr.x.columns}
    labels, proba = model.predict_all(as_dict)
    np.testing.assert_array_equal(labels, cancer_lr.estimator.predict(cancer_lr.x))
    np.testing.assert_allclose(proba, cancer_lr.estimator.predict_proba(cancer_lr.x))
    regressor = load(dumps(diabetes_ridge.estimator))
    values, none = regressor.predict_all(diabetes_ridge.frame)
    assert none is None
    np.testing.assert_allclose(values, diabetes_ridge.estimator.predict(diabetes_ridge.x))


def test_tree_ensemble_on_a_matrix_needs_no_trust(iris_rf) -> None:
    data = dumps(iris_rf.estimator)
    assert untrusted_types(data) == []  # sklearn.tree._tree.Tree is a scikit-learn class
    model = load(data)
    assert model.feature_names is None and model.n_features == 4
    renamed = iris_rf.frame.rename({c: f"c{i}" for i, c in enumerate(iris_rf.frame.columns)})
    np.testing.assert_array_equal(
        model.predict(renamed), iris_rf.estimator.predict(iris_rf.x.to_numpy())
    )
    with pytest.raises(InvalidInput, match="takes 4 unnamed feature columns but the input has 3"):
        model.predict(renamed.drop("c0"))


def test_mixed_type_pipeline_with_a_categorical_column(tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(7)
    x = pd.DataFrame(
        {"colour": rng.choice(["red", "green", "blue"], 400), "size": rng.normal(size=400)}
    )
    y = ((x["colour"] == "red") ^ (x["size"] > 0)).astype(int)
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["colour"]), remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ).fit(x, y)
    model = load(dumps(pipe))
    np.testing.assert_allclose(model.predict_proba(pl.from_pandas(x)), pipe.predict_proba(x))


def test_a_regressor_has_no_probabilities(diabetes_ridge) -> None:
    model = load(dumps(diabetes_ridge.estimator))
    assert model.task == "regression" and model.classes_ is None
    assert model.predict_proba(diabetes_ridge.frame) is None
    np.testing.assert_allclose(
        model.predict(diabetes_ridge.frame), diabetes_ridge.estimator.predict(diabetes_ridge.x)
    )
    described = model.describe()
    assert described["estimator"] == "Ridge" and described["params"]["alpha"] == 0.5
    json.dumps(described)


def test_a_function_outside_scikit_learn_needs_trust(diabetes_ridge) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(operator.neg), Ridge()).fit(
        diabetes_ridge.x, diabetes_ridge.y
    )
    data = dumps(pipe)
    with pytest.raises(PermissionDenied, match=r"_operator\.neg.*--trust"):
        load(data, name="negate.skops")
    model = load(data, trust=True)
    np.testing.assert_allclose(model.predict(diabetes_ridge.frame), pipe.predict(diabetes_ridge.x))


def test_only_classes_inside_scikit_learn_are_accepted() -> None:
    assert is_sklearn_class("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor")
    assert not is_sklearn_class("sklearn.utils.validation.check_array")  # a function
    assert not is_sklearn_class("numpy.testing.assert_equal")
    assert not is_sklearn_class("sklearn.no_such_module.Thing")
    assert not is_sklearn_class("os.system")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a,b\n1,2\n", "not a readable skops model"),
        (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a readable"),
        (dumps({"weights": [1, 2, 3]}), "holds a dict, not a fitted model"),
    ],
)
def test_a_file_that_is_not_a_model_is_invalid_input(content: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load(content, name="x.skops")


def test_an_unfitted_estimator_is_refused() -> None:
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(InvalidInput, match="unfitted LogisticRegression"):
        load(dumps(LogisticRegression()))

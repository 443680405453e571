from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aims.errors import InvalidInput
from aims.flavours import describe_model, load_model
from aims.flavours.onnx_flavour import load, sklearn_to_onnx


def test_forest_through_onnx_matches_the_estimator(tmp_path: Path, iris_rf) -> None:
    path = sklearn_to_onnx(iris_rf.estimator, iris_rf.x.columns, tmp_path / "rf.onnx")
    model = load_model(path)
    assert (model.flavour, model.task, model.classes_) == ("onnx", "classification", [0, 1, 2])
    assert model.feature_names == list(iris_rf.x.columns)
    x = iris_rf.x.to_numpy()
    np.testing.assert_array_equal(model.predict(iris_rf.frame), iris_rf.estimator.predict(x))
    np.testing.assert_allclose(
        model.predict_proba(iris_rf.frame), iris_rf.estimator.predict_proba(x), atol=1e-5
    )


def test_zipmap_output_without_metadata(cancer_lr) -> None:
    from skl2onnx import to_onnx

    # skl2onnx's defaults: ZipMap probabilities, input "X", no aims metadata.
    x = cancer_lr.x.to_numpy().astype(np.float32)
    onx = to_onnx(cancer_lr.estimator.steps[-1][1], x[:1])
    model = load(onx.SerializeToString())
    assert model.feature_names == [f"x{i}" for i in range(30)]
    assert model.classes_ == [0, 1]  # read from the classifier node
    scaled = cancer_lr.estimator.steps[0][1].transform(cancer_lr.x)
    frame = pl.DataFrame(scaled, schema=model.feature_names, orient="row")
    expected = cancer_lr.estimator.steps[-1][1].predict_proba(scaled)
    np.testing.assert_allclose(model.predict_proba(frame), expected, atol=1e-5)


def test_predict_all_runs_both_outputs_at_once(tmp_path: Path, iris_rf, cancer_lr) -> None:
    from skl2onnx import to_onnx

    model = load_model(sklearn_to_onnx(iris_rf.estimator, iris_rf.x.columns, tmp_path / "rf.onnx"))
    labels, proba = model.predict_all(iris_rf.frame)
    np.testing.assert_array_equal(labels, model.predict(iris_rf.frame))
    np.testing.assert_array_equal(proba, model.predict_proba(iris_rf.frame))
    x = cancer_lr.x.to_numpy().astype(np.float32)
    zipmap = load(to_onnx(cancer_lr.estimator.steps[-1][1], x[:1]).SerializeToString())
    frame = pl.DataFrame(x, schema=zipmap.feature_names, orient="row")
    labels, proba = zipmap.predict_all(frame)
    np.testing.assert_array_equal(labels, zipmap.predict(frame))
    np.testing.assert_allclose(proba, zipmap.predict_proba(frame))
    assert proba.shape == (len(x), 2)


def test_string_classes_and_labels(tmp_path: Path, iris_rf) -> None:
    from sklearn.linear_model import LogisticRegression

    names = np.array(["setosa", "versicolor", "virginica"])[iris_rf.y]
    lr = LogisticRegression(max_iter=1000).fit(iris_rf.x.to_numpy(), names)
    model = load_model(sklearn_to_onnx(lr, iris_rf.x.columns, tmp_path / "lr.onnx"))
    assert model.classes_ == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(model.predict(iris_rf.frame), lr.predict(iris_rf.x.to_numpy()))


def test_regressor_in_double_precision(tmp_path: Path, diabetes_ridge) -> None:
    path = sklearn_to_onnx(
        diabetes_ridge.estimator, diabetes_ridge.x.columns, tmp_path / "ridge.onnx", dtype="float64"
    )
    model = load_model(path)
    assert model.task == "regression" and model.classes_ is None
    assert model.predict_proba(diabetes_ridge.frame) is None
    np.testing.assert_allclose(
        model.predict(diabetes_ridge.frame),
        diabetes_ridge.estimator.predict(diabetes_ridge.x),
        rtol=1e-5,
    )


def test_one_input_per_feature(cancer_lr) -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cols = ["mean_radius", "mean_texture", "worst_area"]
    x = cancer_lr.x[cols].astype(np.float32)
    pipe = make_pipeline(
        ColumnTransformer([("scale", StandardScaler(), cols)]), LogisticRegression()
    ).fit(x, cancer_lr.y)
    onx = to_onnx(
        pipe,
        initial_types=[(c, FloatTensorType([None, 1])) for c in cols],
        options={id(pipe): {"zipmap": False}},
    )
    model = load(onx.SerializeToString())
    assert model.feature_names == cols and model.classes_ == [0, 1]
    np.testing.assert_allclose(
        model.predict_proba(cancer_lr.frame), pipe.predict_proba(x), atol=1e-5
    )


def test_description_names_inputs_and_outputs(tmp_path: Path, iris_rf) -> None:
    path = sklearn_to_onnx(iris_rf.estimator, iris_rf.x.columns, tmp_path / "rf.onnx")
    described = describe_model(path)
    json.dumps(described)
    assert described["inputs"] == [{"name": "input", "type": "tensor(float)", "shape": [None, 4]}]
    assert [o["name"] for o in described["outputs"]] == ["label", "probabilities"]
    assert described["classes"] == [0, 1, 2] and described["estimator"] == "onnx:skl2onnx"


def test_a_missing_feature_is_named(tmp_path: Path, iris_rf) -> None:
    model = load_model(sklearn_to_onnx(iris_rf.estimator, iris_rf.x.columns, tmp_path / "m.onnx"))
    with pytest.raises(InvalidInput, match=r"lacks feature column.*petal_width"):
        model.predict(iris_rf.frame.drop("petal_width"))


@pytest.mark.parametrize("content", [b"a,b\n1,2\n", b"\x08\x07garbage" * 50])
def test_a_file_that_is_not_onnx_is_invalid_input(content: bytes) -> None:
    with pytest.raises(InvalidInput, match="not a readable ONNX model"):
        load(content, name="data.onnx")


def test_a_wrong_feature_name_list_in_metadata_is_refused(tmp_path: Path, iris_rf) -> None:
    import onnx

    path = sklearn_to_onnx(iris_rf.estimator, iris_rf.x.columns, tmp_path / "m.onnx")
    proto = onnx.load(path)
    for entry in proto.metadata_props:
        if entry.key == "aims.feature_names":
            entry.value = json.dumps(["only", "three", "names"])
    with pytest.raises(InvalidInput, match="lists 3 names but the input has 4 columns"):
        load(proto.SerializeToString())

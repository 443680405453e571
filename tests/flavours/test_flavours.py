from __future__ import annotations

import doctest
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from skops.io import dump, dumps

import aims.flavours
from aims.errors import IntegrityError, InvalidInput, NotFound, PermissionDenied
from aims.flavours import describe_model, detect_flavour, load_bytes, load_model
from aims.flavours.onnx_flavour import sklearn_to_onnx
from aims.storage.artifacts import ArtifactStore


def test_examples_in_docstrings_run() -> None:
    assert doctest.testmod(aims.flavours).failed == 0


@pytest.mark.parametrize(
    ("name", "flavour"),
    [
        ("m.skops", "skops"),
        ("m.onnx", "onnx"),
        ("m.pkl", "pickle"),
        ("m.PICKLE", "pickle"),
        ("m.joblib", "pickle"),
    ],
)
def test_flavour_from_suffix(name: str, flavour: str) -> None:
    assert detect_flavour(name) == flavour


def test_flavour_sniffed_when_the_suffix_says_nothing(tmp_path: Path, iris_rf) -> None:
    skops_file, pickle_file = tmp_path / "model-a", tmp_path / "model-b.bin"
    skops_file.write_bytes(dumps(iris_rf.estimator))
    pickle_file.write_bytes(pickle.dumps(iris_rf.estimator))
    assert detect_flavour(skops_file) == "skops"
    assert detect_flavour(pickle_file) == "pickle"
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(InvalidInput, match=r"\.skops, \.onnx.*--flavour"):
        detect_flavour(other)


def test_a_missing_file_or_a_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        load_model(tmp_path / "model.skops")
    with pytest.raises(NotFound, match="folder"):
        load_model(tmp_path)


@pytest.mark.parametrize("suffix", [".skops", ".onnx", ".pkl"])
def test_a_csv_under_a_model_suffix_is_invalid_input(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(InvalidInput, match=f"data{suffix}: not a readable"):
        load_model(path, trust=True)


def test_an_empty_file_and_an_unknown_flavour_are_invalid_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        load_model(empty)
    with pytest.raises(InvalidInput, match="skops, onnx, pickle"):
        load_bytes(b"x", "tensorflow")


def test_an_explicit_flavour_overrides_the_suffix(tmp_path: Path, iris_rf) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(dumps(iris_rf.estimator))
    assert load_model(path, "SKOPS").flavour == "skops"


def test_descriptions_are_json_for_every_flavour(tmp_path: Path, cancer_lr) -> None:
    skops_path, pickle_path = tmp_path / "m.skops", tmp_path / "m.pkl"
    dump(cancer_lr.estimator, skops_path)
    pickle_path.write_bytes(pickle.dumps(cancer_lr.estimator))
    onnx_path = sklearn_to_onnx(cancer_lr.estimator, cancer_lr.x.columns, tmp_path / "m.onnx")
    for path, trust in ((skops_path, False), (pickle_path, True), (onnx_path, False)):
        described = json.loads(json.dumps(describe_model(path, trust=trust)))
        assert described["task"] == "classification" and described["classes"] == [0, 1]
        assert described["feature_names"] == list(cancer_lr.x.columns)
    assert describe_model(skops_path)["params"]["steps"][0][0] == "standardscaler"


def test_a_model_from_the_store_is_refused_once_a_byte_flips(tmp_path: Path, iris_rf) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    ref = store.put_bytes(dumps(iris_rf.estimator))
    model = load_bytes(store.get_bytes(ref.sha256), "skops")
    np.testing.assert_array_equal(
        model.predict(iris_rf.frame), iris_rf.estimator.predict(iris_rf.x.to_numpy())
    )
    stored = Path(store.key(ref.sha256))
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=ref.sha256):
        load_bytes(store.get_bytes(ref.sha256), "skops")


def test_pickle_needs_trust_through_the_entry_point(tmp_path: Path, iris_rf) -> None:
    path = tmp_path / "rf.pkl"
    path.write_bytes(pickle.dumps(iris_rf.estimator))
    with pytest.raises(PermissionDenied, match="runs arbitrary code"):
        describe_model(path)
    assert describe_model(path, trust=True)["estimator"] == "RandomForestClassifier"

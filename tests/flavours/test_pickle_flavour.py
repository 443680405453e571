from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours import load_model
from aims.flavours.pickle_flavour import load, looks_like_pickle


class _TouchOnLoad:
    """Unpickling this object creates a file: proof of whether code ran."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.target,))


def test_without_trust_nothing_is_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    data = pickle.dumps(_TouchOnLoad(marker))
    with pytest.raises(PermissionDenied, match=r"--trust.*skops"):
        load(data, name="evil.pkl")
    assert not marker.exists()
    # With trust the file's code does run, which is exactly why trust is asked for.
    with pytest.raises(InvalidInput, match="not a fitted model"):
        load(data, trust=True, name="evil.pkl")
    assert marker.exists()


def test_trusted_pickle_predicts_like_the_estimator(tmp_path: Path, cancer_lr) -> None:
    path = tmp_path / "lr.pkl"
    path.write_bytes(pickle.dumps(cancer_lr.estimator))
    with pytest.raises(PermissionDenied):
        load_model(path)
    model = load_model(path, trust=True)
    assert model.flavour == "pickle" and model.estimator_name() == "Pipeline"
    np.testing.assert_allclose(
        model.predict_proba(cancer_lr.frame), cancer_lr.estimator.predict_proba(cancer_lr.x)
    )


def test_compressed_joblib_file_loads(tmp_path: Path, iris_rf) -> None:
    path = tmp_path / "rf.joblib"
    joblib.dump(iris_rf.estimator, path, compress=3)
    assert looks_like_pickle(path.read_bytes())
    model = load_model(path, trust=True)
    np.testing.assert_array_equal(
        model.predict(iris_rf.frame), iris_rf.estimator.predict(iris_rf.x.to_numpy())
    )


def test_a_csv_renamed_pkl_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInput, match=r"not a readable pickle model.*does not start like"):
        load_model(path, trust=True)

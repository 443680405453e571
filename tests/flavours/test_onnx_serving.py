"""Serving through ONNX: the checked conversion and the preallocated-input path."""

from __future__ import annotations

import numpy as np
import pytest

from aims.errors import InvalidInput
from aims.flavours.onnx_conversion import DEFAULT_ATOL, convert_checked, largest_difference
from aims.flavours.sklearn_model import SklearnModel


def columns(frame) -> dict[str, list[float]]:
    return {c: frame[c].tolist() for c in frame.columns}


def test_the_converted_pipeline_answers_the_training_data_within_the_tolerance(cancer_lr) -> None:
    names = list(cancer_lr.x.columns)
    data = columns(cancer_lr.x)
    converted = convert_checked(cancer_lr.estimator, names, data)
    labels, gap, _ = largest_difference(SklearnModel(cancer_lr.estimator, "skops"), converted, data)
    assert labels is None and gap <= DEFAULT_ATOL
    predictions, proba = converted.predict_all(data)
    np.testing.assert_array_equal(predictions, cancer_lr.estimator.predict(cancer_lr.x))
    np.testing.assert_allclose(
        proba, cancer_lr.estimator.predict_proba(cancer_lr.x), rtol=0, atol=DEFAULT_ATOL
    )


def test_float32_is_refused_at_the_float64_tolerance_and_accepted_at_its_own(cancer_lr) -> None:
    names, data = list(cancer_lr.x.columns), columns(cancer_lr.x)
    with pytest.raises(InvalidInput, match=r"differs by .* on row \d+|predicts .* for row"):
        convert_checked(cancer_lr.estimator, names, data, dtype="float32")
    converted = convert_checked(cancer_lr.estimator, names, data, dtype="float32", atol=1e-4)
    assert converted.inputs[0].type == "tensor(float)"


def test_the_reused_input_matrix_gives_what_a_fresh_frame_gives(cancer_lr) -> None:
    names = list(cancer_lr.x.columns)
    model = convert_checked(cancer_lr.estimator, names, columns(cancer_lr.x))
    assert model._buffer is not None
    # Large, then small, then large again: rows of an earlier call never leak into a later one.
    for n in (40, 3, 1, 64, 2):
        part = cancer_lr.x.sample(n, random_state=n)
        fast = model.predict_all(columns(part))
        expected = model.predict_all(part)  # a pandas frame: the ordinary path
        np.testing.assert_array_equal(fast[0], expected[0])
        np.testing.assert_array_equal(fast[1], expected[1])
        assert len(fast[0]) == n


def test_values_that_are_not_numbers_take_the_ordinary_path(cancer_lr) -> None:
    names = list(cancer_lr.x.columns)
    model = convert_checked(cancer_lr.estimator, names, columns(cancer_lr.x))
    data = columns(cancer_lr.x.head(2))
    del data[names[0]]
    with pytest.raises(InvalidInput, match=names[0]):
        model.predict_all(data)

"""A scikit-learn model served through its ONNX conversion, checked equal on data first.

The conversion is opt-in: onnxruntime answers a small pipeline several times
faster than scikit-learn does, but a converted graph is a different program,
so :func:`convert_checked` runs both on the data given (the training data, as
a rule) and refuses the conversion unless every predicted label is the same
and every probability (or regression value) is within ``atol``.

Tolerances: in ``float64`` a scaler + logistic-regression pipeline or a
tree ensemble agrees to about 1e-12, so the default ``atol`` is ``1e-9``; in
``float32`` differences of 1e-6 to 1e-5 are normal, and a label may flip for
a row whose probability sits on the decision threshold.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aims.errors import InvalidInput
from aims.flavours.onnx_flavour import OnnxModel, load, sklearn_to_onnx
from aims.flavours.sklearn_model import SklearnModel

__all__ = ["DEFAULT_ATOL", "convert_checked", "largest_difference"]

DEFAULT_ATOL = 1e-9
"""Largest difference of a probability or value accepted in ``float64``."""


def convert_checked(
    estimator: Any,
    feature_names: Sequence[str],
    data: Mapping[str, Sequence[Any]],
    *,
    dtype: str = "float64",
    atol: float = DEFAULT_ATOL,
) -> OnnxModel:
    """The ONNX form of ``estimator``, after it answered ``data`` as the estimator does.

    Parameters
    ----------
    estimator
        A fitted scikit-learn estimator or pipeline of numeric columns.
    feature_names
        Its training columns, in order.
    data
        Columns of records to compare on (the training data, as a rule).
    dtype, atol
        The graph's float type and the largest difference accepted.

    Raises
    ------
    InvalidInput
        The model cannot be converted, or the two disagree on ``data`` (the
        message names the first row that differs and by how much).
    """
    with tempfile.TemporaryDirectory() as folder:
        path = sklearn_to_onnx(estimator, feature_names, Path(folder) / "model.onnx", dtype=dtype)
        converted = load(path.read_bytes(), name=f"{type(estimator).__name__} as ONNX")
    original = SklearnModel(estimator, "skops")
    labels, worst, row = largest_difference(original, converted, data)
    if labels is not None:
        raise InvalidInput(
            f"the ONNX form of {type(estimator).__name__} predicts {labels[1]!r} for row {row} "
            f"where the model predicts {labels[0]!r}; serve the model itself, or try "
            "dtype='float64'"
        )
    if worst > atol:
        raise InvalidInput(
            f"the ONNX form of {type(estimator).__name__} differs by {worst:.3g} on row {row} "
            f"(more than the {atol:g} allowed); serve the model itself, or try dtype='float64'"
        )
    return converted


def largest_difference(
    original: Any, converted: Any, data: Mapping[str, Sequence[Any]]
) -> tuple[tuple[Any, Any] | None, float, int]:
    """Compare two models on ``data``: (first differing labels or None, largest gap, its row)."""
    labels_a, proba_a = original.predict_all(dict(data))
    labels_b, proba_b = converted.predict_all(dict(data))
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    if original.task == "classification":
        differ = np.flatnonzero(labels_a != labels_b)
        if differ.size:
            i = int(differ[0])
            return (labels_a[i].item(), labels_b[i].item()), float("inf"), i
        if proba_a is None or proba_b is None:
            return None, 0.0, 0
        gap = np.abs(np.asarray(proba_a, float) - np.asarray(proba_b, float)).max(axis=1)
    else:
        gap = np.abs(labels_a.astype(float) - labels_b.astype(float))
    if gap.size == 0:
        return None, 0.0, 0
    row = int(gap.argmax())
    return None, float(gap[row]), row

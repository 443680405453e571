from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

from aims.errors import InvalidInput
from aims.flavours import base
from aims.flavours.base import LoadedModel, json_safe


class _Sum(LoadedModel):
    flavour = "test"

    def __init__(self) -> None:
        self.feature_names = ["a", "b"]

    def predict(self, data: object) -> np.ndarray:
        return self.frame(data).sum_horizontal().to_numpy()

    def estimator_name(self) -> str:
        return "Sum"


def test_examples_in_docstrings_run() -> None:
    assert doctest.testmod(base).failed == 0


def test_columns_are_picked_by_name_and_extras_ignored() -> None:
    model = _Sum()
    out = model.predict({"extra": ["x", "y"], "b": [10, 20], "a": [1, 2]})
    np.testing.assert_array_equal(out, [11, 22])


def test_every_missing_feature_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"lacks feature column\(s\) a, b"):
        _Sum().predict({"c": [1]})


def test_a_non_table_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="cannot use a list as a table"):
        _Sum().predict([[1, 2]])


def test_json_safe_output_survives_json() -> None:
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    params = BaggingClassifier(DecisionTreeClassifier(max_depth=3)).get_params(deep=False)
    safe = json_safe({**params, "weights": np.array([0.5, np.inf]), "kind": np.float32})
    assert json.loads(json.dumps(safe)) == safe
    assert safe["estimator"].startswith("DecisionTreeClassifier(max_depth=3")
    assert safe["weights"] == [0.5, None] and safe["kind"] == "numpy.float32"

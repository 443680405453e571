"""The examples in the contract modules' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "aims.core.contract._yaml",
    "aims.core.contract.model",
    "aims.core.contract.odcs",
    "aims.core.contract.infer",
    "aims.core.contract.rules",
    "aims.core.contract.check",
    "aims.core.contract.records",
    "aims.core.contract.health",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0

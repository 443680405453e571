"""The examples in the monitoring modules' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "aims.core.outputs",
    "aims.core.triggers",
    "aims.core.windowing",
    "aims.services.monitor.settings",
    "aims.services.monitor.triggers",
    "aims.services.monitor.windows",
    "aims.services.monitor.checks",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0

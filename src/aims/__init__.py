"""aims: an AI management system for machine-learning models in production.

The Python API (docs/python.md) is :class:`Workspace` and :func:`drift`;
errors are in :mod:`aims.errors`. They are imported on first use, so that
``import aims`` stays fast for the command line, which never needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aims.api import DriftResult, Workspace, drift

__version__ = "0.1.0"

__all__ = ["DriftResult", "Workspace", "__version__", "drift"]

_LAZY = {"DriftResult": "aims.api", "Workspace": "aims.api", "drift": "aims.api"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aims' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)

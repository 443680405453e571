"""Model flavours: one interface to load and call models stored in different formats.

==========  ==================  ===========================================
flavour     file                loaded with
==========  ==================  ===========================================
``skops``   ``.skops``          skops (no arbitrary code; unknown types refused)
``onnx``    ``.onnx``           onnxruntime, CPU
``pickle``  ``.pkl/.joblib``    pickle, only with ``trust=True`` (runs code)
==========  ==================  ===========================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aims.errors import InvalidInput, NotFound
from aims.flavours.base import LoadedModel

SUFFIXES = {
    ".skops": "skops",
    ".onnx": "onnx",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
}
FLAVOURS = ("skops", "onnx", "pickle")


def detect_flavour(path: str | Path) -> str:
    """The flavour of a model file, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            f"{path}: cannot tell the model format from {suffix or 'no suffix'!r}; save the model "
            "as .skops (scikit-learn) or .onnx, or pass --flavour"
        )
    return SUFFIXES[suffix]


def load_bytes(
    data: bytes, flavour: str, *, trust: bool = False, name: str = "model"
) -> LoadedModel:
    """Load a model from its (already verified) bytes."""
    if flavour == "skops":
        from aims.flavours.skops_flavour import load

        return load(data, trust=trust, name=name)
    if flavour == "onnx":
        from aims.flavours.onnx_flavour import load

        return load(data, name=name)
    if flavour == "pickle":
        from aims.flavours.pickle_flavour import load

        return load(data, trust=trust, name=name)
    raise InvalidInput(f"flavour {flavour!r} is unknown; use one of {', '.join(FLAVOURS)}")


def load_model(path: str | Path, flavour: str | None = None, *, trust: bool = False) -> LoadedModel:
    """Load the model file ``path``."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    return load_bytes(
        path.read_bytes(), flavour or detect_flavour(path), trust=trust, name=str(path)
    )


def describe_model(
    path: str | Path, flavour: str | None = None, *, trust: bool = False
) -> dict[str, Any]:
    """What the registry records about a model file (loading it proves it is one)."""
    model = load_model(path, flavour, trust=trust)
    return model.describe()


__all__ = [
    "FLAVOURS",
    "LoadedModel",
    "describe_model",
    "detect_flavour",
    "load_bytes",
    "load_model",
]

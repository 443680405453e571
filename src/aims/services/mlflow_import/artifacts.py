"""An MLflow model's files: which one holds the model, in which aims flavour, and reading it.

MLflow saves a model as a folder with an ``MLmodel`` file naming its
flavours. aims takes the model file itself:

=====================================  ==========  ===============================
MLflow flavour (``MLmodel``)           aims flavour  loaded
=====================================  ==========  ===============================
``onnx`` (``data: model.onnx``)        ``onnx``    always (no code runs)
``sklearn``, ``serialization_format``  ``skops``   skops' trusted types only
``skops``
``sklearn``, ``pickle``/``cloudpickle``  ``pickle``  only with ``trust`` (``--trust``)
=====================================  ==========  ===============================

Any other flavour is refused with a message saying how to re-log the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from aims.errors import InvalidInput, NotFound

__all__ = ["ModelFile", "local_artifact", "model_file"]


@dataclass(frozen=True)
class ModelFile:
    """The file of an MLflow model that aims stores, and how to load it."""

    path: str
    """Relative to the model's artifact location, e.g. ``model.skops``."""
    flavour: str
    """aims flavour: ``skops``, ``onnx`` or ``pickle``."""
    mlflow_format: str
    """What MLflow called it: ``skops``, ``cloudpickle``, ``pickle`` or ``onnx``."""


def model_file(mlmodel: bytes, what: str) -> ModelFile:
    """The model file an ``MLmodel`` document names, or :class:`InvalidInput` saying why none fits."""
    try:
        doc: Any = yaml.safe_load(mlmodel)
    except yaml.YAMLError:
        doc = None
    flavors = doc.get("flavors") if isinstance(doc, dict) else None
    if not isinstance(flavors, dict):
        raise InvalidInput(f"{what}: its MLmodel file does not parse as an MLflow model")
    onnx = flavors.get("onnx")
    if isinstance(onnx, dict) and onnx.get("data"):
        return ModelFile(str(onnx["data"]), "onnx", "onnx")
    sk = flavors.get("sklearn")
    if isinstance(sk, dict) and sk.get("pickled_model"):
        fmt = str(sk.get("serialization_format") or "cloudpickle")
        flavour = "skops" if fmt == "skops" else "pickle"
        return ModelFile(str(sk["pickled_model"]), flavour, fmt)
    names = ", ".join(sorted(k for k in flavors if k != "python_function")) or "none"
    raise InvalidInput(
        f"{what}: MLflow flavour(s) {names} cannot be imported; aims imports scikit-learn "
        "models (log them with mlflow.sklearn.log_model(..., serialization_format='skops')) "
        "and ONNX models (mlflow.onnx.log_model)"
    )


def local_artifact(location: str, path: str, *, root: Path | None, what: str) -> bytes:
    """Read ``path`` below a location on this machine.

    ``file:`` URIs and plain paths are read as they are; ``mlflow-artifacts:``
    locations (a server that stores artifacts for its clients) are read below
    ``root``, the server's ``--artifacts-destination`` folder.
    """
    parsed = urlparse(location)
    if parsed.scheme == "mlflow-artifacts":
        if root is None:
            raise InvalidInput(
                f"{what}: its files are kept by the MLflow server ({location}); pass "
                "--artifacts FOLDER (the server's --artifacts-destination), or import "
                "through the server's URL"
            )
        base = root / unquote(parsed.path).lstrip("/")
    elif parsed.scheme in ("file", ""):
        base = Path(unquote(parsed.path) if parsed.scheme else location)
    else:
        raise InvalidInput(
            f"{what}: artifacts at {parsed.scheme}:// cannot be read by aims import; "
            "import through the MLflow server's URL, which serves them"
        )
    target = base / path
    if not target.is_file():
        raise NotFound(
            f"{what}: {path} is not at {target}; if the artifacts moved, pass "
            "--artifacts FOLDER where they are now"
        )
    return target.read_bytes()

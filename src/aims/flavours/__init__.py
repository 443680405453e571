"""Model flavours: one interface to load and call models stored in different formats.

==========  ===============================  ==========================================
flavour     file                             loaded with
==========  ===============================  ==========================================
``skops``   ``.skops``                       skops: no code runs; unknown types refused
``onnx``    ``.onnx``                        onnxruntime on the CPU
``pickle``  ``.pkl``, ``.pickle``, ``.joblib``  joblib/pickle, only with ``trust=True``
==========  ===============================  ==========================================

Every loader returns a :class:`~aims.flavours.base.LoadedModel`. Bad input is
one :class:`~aims.errors.AimsError` with a message saying what to do:
``NotFound`` for a missing file, ``InvalidInput`` for a file that is not a
readable model of its flavour, ``PermissionDenied`` for a pickle (or a skops
file with unknown types) without ``trust``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from aims.errors import InvalidInput, NotFound
from aims.flavours.base import LoadedModel

FLAVOURS = ("skops", "onnx", "pickle")
SUFFIXES = {
    ".skops": "skops",
    ".onnx": "onnx",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
}
_SNIFF_BYTES = 8


def detect_flavour(path: str | Path) -> str:
    """The flavour of a model file: from its suffix, else from its first bytes.

    A file without a known suffix is recognised as ``skops`` (a zip archive
    with skops' ``schema.json``) or ``pickle`` (starts with the pickle
    protocol marker); anything else needs an explicit flavour.

    Raises
    ------
    InvalidInput
        The flavour cannot be told; the message lists the suffixes.

    Examples
    --------
    >>> detect_flavour("churn.skops"), detect_flavour("churn.ONNX"), detect_flavour("m.joblib")
    ('skops', 'onnx', 'pickle')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if path.is_file():
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
        if head.startswith(b"PK") and _is_skops_archive(path):
            return "skops"
        if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            return "pickle"
    raise InvalidInput(
        f"{path}: cannot tell the model format from {suffix or 'a name without suffix'!r}; "
        f"name the file .skops, .onnx, .pkl or .joblib, or pass --flavour "
        f"({'|'.join(FLAVOURS)})"
    )


def _is_skops_archive(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "schema.json" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def check_flavour(flavour: str) -> str:
    """``flavour`` normalised, or :class:`InvalidInput` naming the known ones."""
    name = str(flavour).strip().lower()
    if name not in FLAVOURS:
        raise InvalidInput(f"flavour {flavour!r} is unknown; use one of {', '.join(FLAVOURS)}")
    return name


def load_bytes(
    data: bytes, flavour: str, *, trust: bool = False, name: str = "model"
) -> LoadedModel:
    """Load a model from its bytes (verified beforehand when they come from the store).

    Loading from bytes, not from a path, means nothing can change between the
    hash check and the load.

    Parameters
    ----------
    data
        The model file's content.
    flavour
        ``"skops"``, ``"onnx"`` or ``"pickle"``.
    trust
        Allow a pickle, or a skops file with types outside the trusted set.
    name
        The file or artifact, used in error messages.
    """
    flavour = check_flavour(flavour)
    if not data:
        raise InvalidInput(f"{name}: the file is empty, not a {flavour} model")
    if flavour == "skops":
        from aims.flavours import skops_flavour

        return skops_flavour.load(data, trust=trust, name=name)
    if flavour == "onnx":
        from aims.flavours import onnx_flavour

        return onnx_flavour.load(data, name=name)
    from aims.flavours import pickle_flavour

    return pickle_flavour.load(data, trust=trust, name=name)


def load_model(path: str | Path, flavour: str | None = None, *, trust: bool = False) -> LoadedModel:
    """Load the model file ``path``; the flavour is detected when not given.

    Raises
    ------
    NotFound
        ``path`` does not exist.
    InvalidInput
        It is not a readable model of its flavour.
    PermissionDenied
        It is a pickle (or holds untrusted skops types) and ``trust`` is false.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a model file" if path.is_dir() else "no such file"
        raise NotFound(f"{path}: {what}")
    chosen = check_flavour(flavour) if flavour is not None else detect_flavour(path)
    return load_bytes(path.read_bytes(), chosen, trust=trust, name=str(path))


def describe_model(
    path: str | Path, flavour: str | None = None, *, trust: bool = False
) -> dict[str, Any]:
    """What the registry records about a model file; loading it proves it is one.

    Returns flavour, task, feature_names, n_features, classes, estimator and
    params (JSON-safe), plus inputs and outputs for ONNX.
    """
    return load_model(path, flavour, trust=trust).describe()


__all__ = [
    "FLAVOURS",
    "LoadedModel",
    "check_flavour",
    "describe_model",
    "detect_flavour",
    "load_bytes",
    "load_model",
]

"""A scikit-learn model served through its ONNX conversion, when its model asks for it.

With ``server.runtime: {churn: onnx}`` in ``aims.yaml``, each version of
``churn`` that holds a scikit-learn model is converted to ONNX when the server
loads it, and answered by onnxruntime: for a small pipeline a call costs a
twentieth of scikit-learn's (about 0.05 ms against 1 ms for one row of the
benchmark's scaler + logistic regression), and one graph call gives both the
labels and the probabilities.

A converted graph is a different program, so it serves only after it answered
the version's training rows (up to :data:`CHECK_ROWS`, spread over the file)
as the model does: the same label on every row and every probability within
:data:`~aims.flavours.onnx_conversion.DEFAULT_ATOL` (the conversion is made in
``float64``; see :func:`~aims.flavours.onnx_conversion.convert_checked`).
When it cannot be made or checked (the ``onnx`` extra missing, an estimator
skl2onnx does not know, no training rows to read, a difference), the version
is served by scikit-learn as without the setting, and the server log says why.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Sequence
from typing import Any

from aims.errors import AimsError
from aims.workspace import Workspace

log = logging.getLogger("aims.server")

CHECK_ROWS = 5_000
"""Training rows the conversion is checked on, at most."""


def onnx_form(ws: Workspace, row: dict[str, Any], loaded: Any, features: Sequence[str]) -> Any:
    """``loaded``'s checked ONNX conversion, or ``loaded`` itself when there cannot be one."""
    ref = f"{row['name']}@{row['version']}"
    estimator = getattr(loaded, "estimator", None)
    if estimator is None:
        if row["flavour"] != "onnx":
            log.warning("%s is not a scikit-learn model: runtime onnx does not apply", ref)
        return loaded
    missing = [m for m in ("skl2onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        log.warning(
            "%s is served by scikit-learn: runtime onnx needs %s (pip install 'aims[onnx]')",
            ref,
            " and ".join(missing),
        )
        return loaded
    from aims.flavours.onnx_conversion import convert_checked

    try:
        data = training_columns(ws, row, features)
        if data is None:
            log.warning(
                "%s is served by scikit-learn: its training rows, which the ONNX form "
                "must answer as the model does, cannot be read",
                ref,
            )
            return loaded
        converted = convert_checked(estimator, list(features), data, dtype="float64")
    except AimsError as exc:
        log.warning("%s is served by scikit-learn, not its ONNX form: %s", ref, exc.message)
        return loaded
    rows = len(next(iter(data.values()), []))
    log.info(
        "%s is served through onnxruntime: its ONNX form answered %d training rows as "
        "the model does",
        ref,
        rows,
    )
    return converted


def training_columns(
    ws: Workspace, row: dict[str, Any], features: Sequence[str]
) -> dict[str, list[Any]] | None:
    """Up to :data:`CHECK_ROWS` rows of ``features`` from the version's training data, or None."""
    import polars as pl

    from aims.core import frames
    from aims.services.datasets import dataset_file

    source, artifact = row.get("dataset_source"), row.get("dataset_artifact")
    if not features or (source is None and artifact is None):
        return None
    with dataset_file(ws, source, artifact) as path:
        if path is None:
            return None
        where = source or str(path)
        lazy = frames.scan(path)
        n = int(frames.collect(lazy.select(pl.len()), where).item())
        step = max(1, math.ceil(n / CHECK_ROWS))
        frame = frames.collect(lazy.select(list(features)).gather_every(step), where)
    if frame.height == 0:
        return None
    return {c: frame[c].to_list() for c in features}

"""A served model's answer to a batch, in the forms the response, the log and the metrics need."""

from __future__ import annotations

from typing import Any

import numpy as np

from aims.errors import InvalidInput
from aims.server.routing import ServedVersion

__all__ = ["Outputs", "plain"]


class Outputs:
    """A model's answer to a batch, in the forms the response, log and metrics need."""

    __slots__ = ("predictions", "proba", "scores")

    def __init__(self, served: ServedVersion, records: list[dict[str, Any]]) -> None:
        columns = {f: [r.get(f) for r in records] for f in served.features}
        try:
            predictions, proba = served.loaded.predict_all(columns)
            predictions = np.asarray(predictions)
            if served.classes is None:
                proba = None
        except InvalidInput as exc:
            raise InvalidInput(
                str(exc),
                details=[{"row": None, "field": None, "rule": "type", "message": str(exc)}],
            ) from None
        self.predictions = predictions
        self.proba = None if proba is None else np.asarray(proba, dtype=float)
        if self.proba is not None:
            self.scores = self.proba[:, 1] if self.proba.shape[1] == 2 else self.proba.max(axis=1)
        elif predictions.dtype.kind in "fiu":
            self.scores = predictions.astype(float)
        else:
            self.scores = None


def plain(values: np.ndarray) -> list[Any]:
    """NumPy values as JSON-ready Python values (non-finite floats become None)."""
    if values.dtype.kind == "f":
        out = values.tolist()
        return [v if v == v and v not in (float("inf"), float("-inf")) else None for v in out]
    return values.tolist()

"""SHAP explanations of any model: mean absolute Shapley value per feature.

Permutation importance (in :mod:`aims.core.evaluation`) says how much quality
a feature carries; SHAP says how much each feature moves the model's output,
row by row, and the two together are what reviewers of a model ask for. The
computation is the ``shap`` package's model-agnostic permutation explainer
with an independent (interventional) masker, so it works for any flavour:
the model is only called, never opened.

``shap`` is an optional dependency (``pip install 'aims[explain]'``).
Its tabular masker works on numbers only, so text and boolean columns are
replaced by integer codes for the explainer and decoded before each call of
the model. For a model that is additive in its inputs, the value of feature
*i* on row *x* is exactly ``f_i(x_i) - mean over the background of f_i``;
the tests check that closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from aims.errors import InvalidInput

__all__ = [
    "DEFAULT_BACKGROUND",
    "DEFAULT_ROWS",
    "PERMUTATIONS",
    "ShapResult",
    "require_shap",
    "shap_importance",
]

DEFAULT_ROWS = 50
DEFAULT_BACKGROUND = 50
PERMUTATIONS = 10
"""Feature orders sampled per explained row: enough for a stable mean |SHAP|."""


@dataclass
class ShapResult:
    """Mean absolute SHAP value per feature, with how it was measured."""

    output: str
    rows: int
    background: int
    features: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "output": self.output,
            "rows": self.rows,
            "background": self.background,
            "features": self.features,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShapResult:
        """The inverse of :meth:`to_dict`."""
        return cls(
            output=str(data["output"]),
            rows=int(data["rows"]),
            background=int(data["background"]),
            features={k: float(v) for k, v in data.get("features", {}).items()},
        )


def require_shap() -> Any:
    """The ``shap`` module, or a clear error saying how to install it."""
    try:
        import shap
    except ImportError:
        raise InvalidInput(
            "SHAP explanations need the optional package shap: "
            "pip install 'aims[explain]' (or leave out --shap)"
        ) from None
    return shap


def shap_importance(
    output: Callable[[pl.DataFrame], np.ndarray],
    X: pl.DataFrame,
    *,
    output_name: str,
    rows: int = DEFAULT_ROWS,
    background: int = DEFAULT_BACKGROUND,
    seed: int = 0,
) -> ShapResult:
    """Mean |SHAP value| per column of ``X`` for the model output ``output``.

    Parameters
    ----------
    output
        Maps a frame with the columns of ``X`` to one number per row (shape
        ``(n,)``) or one per class (shape ``(n, k)``; the values of all
        classes are averaged).
    X
        The feature columns; ``rows`` of them are explained against
        ``background`` others, both sampled with ``seed``.
    output_name
        What ``output`` is, for the report (e.g. ``P(delayed)``).
    """
    shap = require_shap()
    if X.width == 0 or X.height == 0:
        raise InvalidInput("SHAP needs at least one feature column and one row")
    if rows < 1 or background < 1:
        raise InvalidInput(f"SHAP rows and background must be >= 1, got {rows} and {background}")
    rng = np.random.default_rng([seed, 5])
    explained = X[np.sort(rng.choice(X.height, size=min(rows, X.height), replace=False))]
    reference = X[np.sort(rng.choice(X.height, size=min(background, X.height), replace=False))]
    # Codes only for the values the explainer sees: the sampled rows.
    codes = _Codes(pl.concat([explained, reference]))

    def model(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(output(codes.decode(matrix)), dtype=float)

    masker = shap.maskers.Independent(codes.encode(reference), max_samples=reference.height)
    explainer = shap.explainers.Permutation(model, masker)
    values = explainer(
        codes.encode(explained),
        max_evals=PERMUTATIONS * (2 * X.width + 1),
        silent=True,
    ).values
    magnitude = np.abs(values)
    if magnitude.ndim == 3:  # one output per class
        magnitude = magnitude.mean(axis=2)
    means = magnitude.mean(axis=0)
    return ShapResult(
        output=output_name,
        rows=explained.height,
        background=reference.height,
        features={c: float(v) for c, v in zip(X.columns, means, strict=True)},
    )


class _Codes:
    """Numbers for the explainer, the original values for the model."""

    def __init__(self, X: pl.DataFrame) -> None:
        self.schema = X.schema
        self.levels = {
            c: X[c].drop_nulls().unique().sort().to_list()
            for c, t in X.schema.items()
            if not t.is_numeric()
        }

    def encode(self, frame: pl.DataFrame) -> np.ndarray:
        columns = []
        for c in frame.columns:
            if c in self.levels:
                code = {v: float(i) for i, v in enumerate(self.levels[c])}
                columns.append(np.array([code.get(v, np.nan) for v in frame[c].to_list()]))
            else:
                columns.append(frame[c].cast(pl.Float64).to_numpy())
        return np.column_stack(columns)

    def decode(self, matrix: np.ndarray) -> pl.DataFrame:
        out = {}
        for j, (c, dtype) in enumerate(self.schema.items()):
            column = matrix[:, j]
            if c in self.levels:
                values = np.asarray(self.levels[c] + [None], dtype=object)
                missing = len(self.levels[c])
                idx = np.where(np.isnan(column), missing, column).astype(np.int64)
                out[c] = pl.Series(c, values[idx].tolist(), dtype=dtype)
            else:
                out[c] = pl.Series(c, column).fill_nan(None).cast(dtype)
        return pl.DataFrame(out)

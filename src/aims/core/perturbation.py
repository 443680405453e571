"""How a model holds up when its inputs are disturbed: robustness and permutation importance.

Both re-score the model on changed copies of the evaluation data. Robustness
adds Gaussian noise to the numeric features, or removes values, and reports
the metrics again with their change; a model that fails on such inputs is a
finding, recorded as the error it raised. Permutation importance shuffles one
feature at a time and reports how much quality is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl

from aims.core.metric_catalog import METRICS
from aims.errors import InvalidInput


class Scorer(Protocol):
    """What re-scoring needs from an evaluation: predictions and metrics."""

    def predict(self, X: pl.DataFrame) -> tuple[np.ndarray, np.ndarray | None]: ...

    def metrics(
        self, yt: np.ndarray, yp: np.ndarray, proba: np.ndarray | None, only: Any = None
    ) -> dict[str, float]: ...


@dataclass(frozen=True)
class RobustnessResult:
    """Metrics on perturbed inputs, or the error the model raised on them."""

    scenario: str
    description: str
    metrics: dict[str, float] = field(default_factory=dict)
    delta: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def robustness(
    X: pl.DataFrame,
    scorer: Scorer,
    y_true: np.ndarray,
    overall: dict[str, float],
    noise_scale: float,
    missing_rate: float,
    seed: int,
) -> dict[str, RobustnessResult]:
    """The metrics again under ``noise`` (Gaussian, ``noise_scale`` sd of each numeric
    feature) and ``missing`` (``missing_rate`` of each feature's values removed), with
    their change against ``overall``; seeded by ``seed``."""
    if noise_scale < 0 or not 0 <= missing_rate <= 1:
        raise InvalidInput("noise_scale must be >= 0 and missing_rate within [0, 1]")
    numeric = [c for c, t in X.schema.items() if t.is_numeric() and t != pl.Boolean]
    rng = np.random.default_rng([seed, 1])
    noisy = []
    for c in numeric:
        values = X[c].cast(pl.Float64).to_numpy()
        sd = float(np.nanstd(values)) if values.size else 0.0
        noisy.append(pl.Series(c, values + rng.normal(0.0, noise_scale * sd, values.size)))
    rng = np.random.default_rng([seed, 2])
    holed = [
        pl.when(pl.Series(rng.random(X.height) < missing_rate))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in X.columns
    ]
    scenarios = {
        "noise": (
            X.with_columns(noisy),
            f"Gaussian noise of {noise_scale} sd on {len(numeric)} numeric features",
        ),
        "missing": (
            X.with_columns(holed),
            f"{missing_rate:.0%} of each feature's values set missing",
        ),
    }
    out = {}
    for name, (perturbed, description) in scenarios.items():
        try:
            y_pred, proba = scorer.predict(perturbed)
            metrics = scorer.metrics(y_true, y_pred, proba)
        except Exception as exc:
            # A model that cannot take noisy or missing inputs is a finding to
            # report, not a failure of the evaluation.
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            out[name] = RobustnessResult(name, description, error=f"{type(exc).__name__}: {first}")
            continue
        delta = {k: v - overall[k] for k, v in metrics.items() if k in overall}
        out[name] = RobustnessResult(name, description, metrics, delta)
    return out


def permutation_importance(
    X: pl.DataFrame,
    scorer: Scorer,
    y_true: np.ndarray,
    metric: str,
    n_repeats: int,
    max_rows: int,
    seed: int,
) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of the loss of ``metric`` when each feature is shuffled.

    References
    ----------
    Breiman (2001). Random forests. Machine Learning 45, 5-32. Fisher, Rudin,
    Dominici (2019). All models are wrong, but many are useful. JMLR 20(177).
    """
    if metric not in METRICS:
        raise InvalidInput(f"importance metric {metric!r} unknown; use one of {', '.join(METRICS)}")
    if n_repeats < 1:
        raise InvalidInput(f"n_repeats must be at least 1, got {n_repeats}")
    rng = np.random.default_rng([seed, 3])
    if X.height > max_rows:
        rows = np.sort(rng.choice(X.height, size=max_rows, replace=False))
        X, y_true = X[rows], y_true[rows]
    sign = 1.0 if METRICS[metric].higher_is_better else -1.0

    def score(frame: pl.DataFrame) -> float:
        y_pred, proba = scorer.predict(frame)
        values = scorer.metrics(y_true, y_pred, proba, only=(metric,))
        if metric not in values:
            raise InvalidInput(
                f"importance metric {metric!r} is undefined on this data "
                f"(available: {', '.join(values)}); choose another"
            )
        return values[metric]

    base = score(X)
    out = {}
    for col in X.columns:
        losses = []
        for _ in range(n_repeats):
            shuffled = X.with_columns(X[col].gather(rng.permutation(X.height)))
            losses.append(sign * (base - score(shuffled)))
        out[col] = {"mean": float(np.mean(losses)), "std": float(np.std(losses))}
    return out


__all__ = ["RobustnessResult", "permutation_importance", "robustness"]

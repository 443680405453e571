"""What an evaluation measures and how: one options object, checked when it is made.

:func:`aims.core.evaluation.evaluate` takes an :class:`EvaluationOptions`, or
its fields as keywords. Every value is checked here, before any prediction is
made, and a bad one is refused with a message naming the field, the value and
what it should be; so a long evaluation never fails late on a typo.

Examples
--------
>>> EvaluationOptions(label="target", n_repeats=2).n_repeats
2
>>> EvaluationOptions(label="target", missing_rate=1.5)
Traceback (most recent call last):
...
aims.errors.InvalidInput: evaluation option missing_rate=1.5: must be a share from 0 to 1
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aims.core.calibration import DEFAULT_N_BINS
from aims.core.explain import DEFAULT_ROWS as DEFAULT_SHAP_ROWS
from aims.core.metric_catalog import METRICS, TASKS, Task
from aims.errors import InvalidInput


@dataclass(frozen=True)
class EvaluationOptions:
    """Options of one evaluation; see :func:`aims.core.evaluation.evaluate` for each field."""

    label: str
    """The column holding the true target."""
    task: Task | None = None
    """``classification`` or ``regression``; inferred when ``None``."""
    features: tuple[str, ...] | None = None
    """Columns passed to the predictor; default the predictor's own feature names."""
    sensitive: tuple[str, ...] = ()
    """Columns for group fairness."""
    slice_columns: tuple[str, ...] | None = None
    """Columns to slice by; default the features and the sensitive columns."""
    pos_label: Any = None
    """Positive class of a binary problem; default the second class."""
    n_bins: int = DEFAULT_N_BINS
    """Equal-width bins for calibration."""
    numeric_bins: int = 4
    """Quantile bins for slicing a numeric column."""
    max_categories: int = 20
    """Categories kept apart when slicing; rarer ones are pooled as ``(other)``."""
    min_slice_size: int = 30
    """Rows a slice needs to take part in ``slice.min`` and ``slice.max``."""
    n_worst: int = 3
    """Slices worse than overall that are flagged, at most."""
    slice_metric: str | None = None
    """Metric the worst slices are judged on; default accuracy or MAE."""
    robustness: bool = True
    """Re-measure under noise and missing values."""
    noise_scale: float = 0.1
    """Gaussian noise, in standard deviations, added to numeric features."""
    missing_rate: float = 0.1
    """Share of each feature's values set missing."""
    importance: bool = True
    """Measure permutation importance."""
    importance_metric: str | None = None
    """Metric importance is measured on; default ROC AUC, accuracy or R²."""
    n_repeats: int = 5
    """Shuffles per feature for permutation importance."""
    importance_rows: int = 5_000
    """Rows sampled for permutation importance, at most."""
    shap: bool = False
    """Also mean absolute SHAP values (needs the optional ``shap`` package)."""
    shap_rows: int = DEFAULT_SHAP_ROWS
    """Rows sampled for SHAP values, at most."""
    seed: int = 0
    """Seeds every random choice."""
    data_id: str | None = None
    """Identifier of the data (e.g. its sha256), compared between evaluations."""

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise _bad("label", self.label, "name the label column, e.g. label='target'")
        if self.task is not None and self.task not in TASKS:
            raise _bad("task", self.task, f"must be one of {', '.join(TASKS)} (or None to infer)")
        for name in ("features", "sensitive", "slice_columns"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise _bad(name, value, "must be a list of column names, e.g. ['age', 'sex']")
            if not all(isinstance(c, str) and c for c in value):
                raise _bad(name, value, "every entry must be a column name (non-empty text)")
            # stored as a tuple so that the options stay hashable and cannot change later
            object.__setattr__(self, name, tuple(value))
        for name, least in (
            ("n_bins", 1),
            ("numeric_bins", 1),
            ("max_categories", 1),
            ("min_slice_size", 0),
            ("n_worst", 0),
            ("n_repeats", 1),
            ("importance_rows", 1),
            ("shap_rows", 1),
            ("seed", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise _bad(name, value, f"must be a whole number of at least {least}")
        for name in ("robustness", "importance", "shap"):
            if not isinstance(getattr(self, name), bool):
                raise _bad(name, getattr(self, name), "must be True or False")
        if not _finite(self.noise_scale) or self.noise_scale < 0:
            raise _bad("noise_scale", self.noise_scale, "must be a finite number of at least 0")
        if not _finite(self.missing_rate) or not 0 <= self.missing_rate <= 1:
            raise _bad("missing_rate", self.missing_rate, "must be a share from 0 to 1")
        for name in ("slice_metric", "importance_metric"):
            value = getattr(self, name)
            if value is not None and value not in METRICS:
                raise _bad(name, value, f"must be one of {', '.join(sorted(METRICS))}")

    @classmethod
    def of(
        cls, options: EvaluationOptions | None, settings: Mapping[str, Any]
    ) -> EvaluationOptions:
        """``options`` with ``settings`` (field names) applied; unknown names are refused.

        Examples
        --------
        >>> EvaluationOptions.of(None, {"label": "y", "seed": 3}).seed
        3
        >>> EvaluationOptions.of(None, {"label": "y", "repeats": 3})
        Traceback (most recent call last):
        ...
        aims.errors.InvalidInput: unknown evaluation option(s) repeats; ...
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InvalidInput(
                f"unknown evaluation option(s) {', '.join(unknown)}; "
                f"the options are: {', '.join(sorted(known))}"
            )
        if options is None:
            if "label" not in settings:
                raise InvalidInput("which column holds the label? pass label='COLUMN'")
            return cls(**settings)
        return dataclasses.replace(options, **settings) if settings else options

    def params(self) -> dict[str, Any]:
        """The settings an evaluation records with its result (to re-run it alike)."""
        return {
            "n_bins": self.n_bins,
            "numeric_bins": self.numeric_bins,
            "max_categories": self.max_categories,
            "min_slice_size": self.min_slice_size,
            "noise_scale": self.noise_scale,
            "missing_rate": self.missing_rate,
            "n_repeats": self.n_repeats,
            "importance_rows": self.importance_rows,
            "seed": self.seed,
        }


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bad(name: str, value: Any, why: str) -> InvalidInput:
    return InvalidInput(f"evaluation option {name}={value!r}: {why}")


__all__ = ["EvaluationOptions"]

"""The record of an evaluation: every figure measured, under its gate name, and comparisons.

An :class:`EvaluationResult` is what :func:`aims.core.evaluation.evaluate`
returns and what the store keeps with a model version; ``to_dict`` and
``from_dict`` round-trip it through JSON. Its :meth:`~EvaluationResult.flat`
view names every figure as the policy's gates refer to it (the names are
listed in :mod:`aims.core.evaluation`), and :meth:`~EvaluationResult.compare`
sets a challenger beside a champion metric by metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aims.core.calibration import Calibration
from aims.core.explain import ShapResult
from aims.core.fairness import FairnessResult
from aims.core.metric_catalog import Task, check_metric_name, metric_direction
from aims.core.perturbation import RobustnessResult
from aims.core.slicing import SliceResult
from aims.errors import InvalidInput, NotFound

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ComparisonRow:
    """One metric of a challenger next to the same metric of the champion."""

    name: str
    challenger: float
    champion: float
    delta: float
    higher_is_better: bool | None
    verdict: str
    """``better``, ``worse``, ``same`` or ``unknown`` (no direction for this metric)."""


@dataclass(frozen=True)
class Comparison:
    """Challenger against champion on the same metrics, side by side."""

    rows: tuple[ComparisonRow, ...]
    same_data: bool | None
    """Whether both were evaluated on the same data (``None`` when unknown)."""

    def worse(self) -> list[ComparisonRow]:
        return [r for r in self.rows if r.verdict == "worse"]

    def to_dict(self) -> dict[str, Any]:
        return {"same_data": self.same_data, "rows": [vars(r).copy() for r in self.rows]}


@dataclass
class EvaluationResult:
    """Everything :func:`evaluate` measured; ``to_dict``/``from_dict`` round-trip through JSON."""

    task: Task
    label: str
    n_rows: int
    features: list[str]
    metrics: dict[str, float]
    classes: list[Any] | None = None
    pos_label: Any = None
    calibration: Calibration | None = None
    slices: list[SliceResult] = field(default_factory=list)
    fairness: dict[str, FairnessResult] = field(default_factory=dict)
    robustness: dict[str, RobustnessResult] = field(default_factory=dict)
    importance: dict[str, dict[str, float]] = field(default_factory=dict)
    importance_metric: str | None = None
    shap: ShapResult | None = None
    params: dict[str, Any] = field(default_factory=dict)
    data_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def flat(self) -> dict[str, float]:
        """Every figure under its gate name (see the module docstring)."""
        out = dict(self.metrics)
        min_size = int(self.params.get("min_slice_size", 0))
        eligible = [s for s in self.slices if s.n >= min_size]
        for name in sorted({m for s in eligible for m in s.metrics}):
            values = [s.metrics[name] for s in eligible if name in s.metrics]
            out[f"slice.min.{name}"] = min(values)
            out[f"slice.max.{name}"] = max(values)
            better_high = metric_direction(name)
            out[f"slice.worst.{name}"] = min(values) if better_high is not False else max(values)
        for s in self.slices:
            for name, value in s.metrics.items():
                out[f"slice.{s.column}={s.value}.{name}"] = value
        for col, fair in self.fairness.items():
            for name, value in fair.statistics.items():
                out[f"fairness.{col}.{name}"] = value
            for group, figures in fair.groups.items():
                for name, value in figures.items():
                    out[f"fairness.{col}={group}.{name}"] = value
        for scenario, rob in self.robustness.items():
            for name, value in rob.metrics.items():
                out[f"robustness.{scenario}.{name}"] = value
            for name, value in rob.delta.items():
                out[f"robustness.{scenario}.delta.{name}"] = value
        for feature, summary in self.importance.items():
            out[f"importance.{feature}"] = summary["mean"]
        if self.shap is not None:
            for feature, value in self.shap.features.items():
                out[f"shap.{feature}"] = value
        return out

    def metric(self, name: str) -> float:
        """The value of one named figure; unknown names raise ``NotFound`` listing known ones."""
        flat = self.flat()
        if name in flat:
            return flat[name]
        check_metric_name(name)
        headline = [n for n in flat if _headline(n)]
        shown = ", ".join(headline[:40]) + (", ..." if len(headline) > 40 else "")
        raise NotFound(
            f"metric {name!r} is not in this evaluation ({self.task}, {self.n_rows} rows); "
            f"known: {shown}"
        )

    def match(self, pattern: str) -> dict[str, float]:
        """Figures whose name matches ``pattern``, where ``*`` stands for any text."""
        flat = self.flat()
        if "*" not in pattern:
            return {pattern: flat[pattern]} if pattern in flat else {}
        regex = re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")
        return {k: v for k, v in flat.items() if regex.match(k)}

    def compare(self, champion: EvaluationResult) -> Comparison:
        """This result (the challenger) against ``champion``, metric by metric."""
        mine, theirs = self.flat(), champion.flat()
        rows = []
        for name in mine:
            if name not in theirs or not _headline(name):
                continue
            delta = mine[name] - theirs[name]
            direction = metric_direction(name)
            if direction is None:
                verdict = "unknown"
            elif delta == 0:
                verdict = "same"
            else:
                verdict = "better" if (delta > 0) == direction else "worse"
            rows.append(ComparisonRow(name, mine[name], theirs[name], delta, direction, verdict))
        same = None
        if self.data_id is not None and champion.data_id is not None:
            same = self.data_id == champion.data_id
        return Comparison(rows=tuple(rows), same_data=same)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "task": self.task,
            "label": self.label,
            "n_rows": self.n_rows,
            "features": list(self.features),
            "classes": None if self.classes is None else [plain_value(c) for c in self.classes],
            "pos_label": plain_value(self.pos_label),
            "metrics": dict(self.metrics),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "slices": [vars(s).copy() for s in self.slices],
            "fairness": {
                c: {"statistics": f.statistics, "groups": f.groups}
                for c, f in self.fairness.items()
            },
            "robustness": {k: vars(r).copy() for k, r in self.robustness.items()},
            "importance": {"metric": self.importance_metric, "features": self.importance},
            "shap": None if self.shap is None else self.shap.to_dict(),
            "params": dict(self.params),
            "data_id": self.data_id,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """Restore a result written by :meth:`to_dict`."""
        if data.get("schema") != SCHEMA_VERSION:
            raise InvalidInput(
                f"stored evaluation has schema {data.get('schema')!r}; this aims reads "
                f"schema {SCHEMA_VERSION}; re-run the evaluation"
            )
        cal = data.get("calibration")
        importance = data.get("importance") or {}
        return cls(
            task=data["task"],
            label=data["label"],
            n_rows=int(data["n_rows"]),
            features=list(data["features"]),
            metrics=dict(data["metrics"]),
            classes=data.get("classes"),
            pos_label=data.get("pos_label"),
            calibration=None if cal is None else Calibration.from_dict(cal),
            slices=[SliceResult(**s) for s in data.get("slices", [])],
            fairness={
                c: FairnessResult(c, dict(f["statistics"]), dict(f["groups"]))
                for c, f in data.get("fairness", {}).items()
            },
            robustness={k: RobustnessResult(**r) for k, r in data.get("robustness", {}).items()},
            importance=dict(importance.get("features", {})),
            importance_metric=importance.get("metric"),
            shap=ShapResult.from_dict(data["shap"]) if data.get("shap") else None,
            params=dict(data.get("params", {})),
            data_id=data.get("data_id"),
            notes=list(data.get("notes", [])),
        )


def _headline(name: str) -> bool:
    """Names worth a side-by-side row: overall, worst slice, fairness statistics, robustness."""
    if name.startswith("slice."):
        return name.startswith("slice.worst.")
    if name.startswith("fairness."):
        return "=" not in name
    return not name.startswith(("importance.", "shap."))


def plain_value(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (JSON can write it); others unchanged."""
    return value.item() if isinstance(value, np.generic) else value


__all__ = [
    "SCHEMA_VERSION",
    "Comparison",
    "ComparisonRow",
    "EvaluationResult",
    "plain_value",
]

"""The evaluation run: metrics, slices, fairness, robustness and importance of one model.

:func:`evaluate` runs a predictor over labelled data and returns an
:class:`EvaluationResult`, a plain JSON-able record stored with the model
version. Every figure in it has a flat name so that policy gates can refer to
it (:func:`aims.core.metric_catalog.check_metric_name` checks the grammar):

==========================================  ==============================================
name                                        meaning
==========================================  ==============================================
``accuracy``, ``roc_auc``, ``mae`` ...      overall metric (:data:`aims.core.metric_catalog.METRICS`)
``slice.min.<m>`` / ``slice.max.<m>``       lowest / highest value over slices of at least
                                            ``min_slice_size`` rows
``slice.worst.<m>``                         the worse of the two for metric ``m``
``slice.<column>=<value>.<m>``              one slice (numeric bins read ``[lo, hi)``)
``fairness.<column>.<statistic>``           ``demographic_parity_difference``,
                                            ``demographic_parity_ratio``,
                                            ``equalized_odds_difference``,
                                            ``equalized_odds_ratio`` (binary tasks)
``fairness.<column>.difference.<m>``        largest minus smallest per-group value
``fairness.<column>.ratio.<m>``             smallest over largest per-group value
``fairness.<column>=<group>.<m>``           one group's value
``robustness.<scenario>.<m>``               metric under ``noise`` or ``missing`` inputs
``robustness.<scenario>.delta.<m>``         perturbed minus clean value
``importance.<feature>``                    mean loss of quality when the feature is permuted
``shap.<feature>``                          mean absolute SHAP value (with ``shap=True``)
==========================================  ==============================================

``*`` in a name given to :meth:`EvaluationResult.match` stands for any text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl

from aims.core import frames, perturbation
from aims.core.calibration import DEFAULT_N_BINS, Calibration
from aims.core.explain import DEFAULT_ROWS as DEFAULT_SHAP_ROWS
from aims.core.explain import ShapResult, shap_importance
from aims.core.fairness import FairnessResult, group_fairness
from aims.core.metric_catalog import TASKS, Task, check_metric_name, metric_direction
from aims.core.metrics import (
    calibration,
    class_index,
    indexed_classification_metrics,
    regression_metrics,
)
from aims.core.perturbation import RobustnessResult
from aims.core.slicing import SliceResult, slice_labels, slice_metrics
from aims.errors import InvalidInput, NotFound

SCHEMA_VERSION = 1


class Predictor(Protocol):
    """Anything with ``predict(frame)``; ``predict_proba`` and ``classes_`` are optional."""

    def predict(self, frame: Any) -> Any: ...


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
            for group, values in fair.groups.items():
                for name, value in values.items():
                    out[f"fairness.{col}={group}.{name}"] = value
        for scenario, rob in self.robustness.items():
            for name, value in rob.metrics.items():
                out[f"robustness.{scenario}.{name}"] = value
            for name, value in rob.delta.items():
                out[f"robustness.{scenario}.delta.{name}"] = value
        for feature, values in self.importance.items():
            out[f"importance.{feature}"] = values["mean"]
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
            "classes": None if self.classes is None else [_plain(c) for c in self.classes],
            "pos_label": _plain(self.pos_label),
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


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# --- the run ----------------------------------------------------------------------


def evaluate(
    predictor: Predictor,
    data: Any,
    *,
    label: str,
    task: Task | None = None,
    features: Sequence[str] | None = None,
    sensitive: Sequence[str] = (),
    slice_columns: Sequence[str] | None = None,
    pos_label: Any = None,
    n_bins: int = DEFAULT_N_BINS,
    numeric_bins: int = 4,
    max_categories: int = 20,
    min_slice_size: int = 30,
    n_worst: int = 3,
    slice_metric: str | None = None,
    robustness: bool = True,
    noise_scale: float = 0.1,
    missing_rate: float = 0.1,
    importance: bool = True,
    importance_metric: str | None = None,
    n_repeats: int = 5,
    importance_rows: int = 5_000,
    shap: bool = False,
    shap_rows: int = DEFAULT_SHAP_ROWS,
    seed: int = 0,
    data_id: str | None = None,
) -> EvaluationResult:
    """Evaluate ``predictor`` on labelled ``data``.

    Parameters
    ----------
    predictor
        Object with ``predict(frame)``; ``predict_proba(frame)`` (columns in the
        order of ``classes_``, or ``classes``) enables the probability metrics
        and calibration. It receives a Polars DataFrame of the feature columns.
    data
        Labelled rows: a Polars, pandas or PyArrow table. Rows without a label
        are dropped (and counted in ``notes``).
    label
        The column holding the true target.
    task
        ``classification`` or ``regression``; inferred when ``None``: a predictor
        declaring ``task``, else one with ``classes_`` or ``predict_proba``, or a
        text/boolean label, or an integer label with at most ``max_categories``
        values means classification.
    features
        Columns passed to the predictor; default ``predictor.feature_names``,
        then ``predictor.feature_names_in_``, then every column but the label
        and the sensitive ones.
    sensitive
        Columns for group fairness (they need not be features); their groups
        are formed like slices, so a numeric column such as age is cut into
        ``numeric_bins`` quantile bins.
    slice_columns
        Columns to slice by; default the features and the sensitive columns.
    pos_label
        Positive class of a binary problem; default the second class.
    n_bins
        Equal-width bins for calibration (ECE, reliability diagram).
    numeric_bins, max_categories
        Numeric columns with more than ``max_categories`` distinct values are cut
        at ``numeric_bins`` quantiles; rarer categories than the top
        ``max_categories`` are pooled as ``(other)``.
    min_slice_size, n_worst, slice_metric
        Slices of at least ``min_slice_size`` rows take part in ``slice.min``/
        ``slice.max``; up to ``n_worst`` of them that are worse than overall on
        ``slice_metric`` (default accuracy or MAE) are flagged.
    robustness, noise_scale, missing_rate
        Re-measure with Gaussian noise of ``noise_scale`` standard deviations
        added to numeric features, and with ``missing_rate`` of each feature's
        values set missing.
    importance, importance_metric, n_repeats, importance_rows
        Permutation importance on at most ``importance_rows`` sampled rows,
        ``n_repeats`` shuffles per feature, measured on ``importance_metric``
        (default ROC AUC for binary classifiers with probabilities, accuracy for
        other classifiers, R² for regression).
    shap, shap_rows
        Also the mean absolute SHAP value of each feature on ``shap_rows``
        sampled rows (needs the optional ``shap`` package; see
        :mod:`aims.core.explain`): of the positive class's probability for a
        binary classifier, of every class's for a multiclass one, of the
        prediction for a regressor.
    seed
        Seeds every random choice; the same inputs give the same result.
    data_id
        Identifier of the data (e.g. its sha256), compared by :meth:`EvaluationResult.compare`.
    """
    frame = frames.to_polars(data)
    _check_columns(frame, [label], "label")
    _check_columns(frame, sensitive, "sensitive")
    notes: list[str] = []
    n_missing = frame[label].null_count()
    if n_missing:
        frame = frame.filter(pl.col(label).is_not_null())
        notes.append(f"dropped {n_missing} rows without a label")
    if frame.height == 0:
        raise InvalidInput(f"no rows with a value in label column {label!r}; nothing to evaluate")
    feats = _features(predictor, frame, label, sensitive, features)
    X = frame.select(feats)
    y_raw = frame[label].to_numpy()
    kind = task or _infer_task(predictor, frame[label], max_categories)
    if kind not in ("classification", "regression"):
        raise InvalidInput(f"task must be 'classification' or 'regression', got {kind!r}")
    scorer = _Scorer.build(predictor, X, y_raw, kind, pos_label, n_bins)
    y_true = scorer.encode(y_raw)
    y_pred, proba = scorer.predict(X)
    overall = scorer.metrics(y_true, y_pred, proba)
    result = EvaluationResult(
        task=kind,
        label=label,
        n_rows=frame.height,
        features=feats,
        metrics=overall,
        classes=None if scorer.classes is None else [_plain(c) for c in scorer.classes],
        pos_label=_plain(scorer.pos_label),
        params={
            "n_bins": n_bins,
            "numeric_bins": numeric_bins,
            "max_categories": max_categories,
            "min_slice_size": min_slice_size,
            "noise_scale": noise_scale,
            "missing_rate": missing_rate,
            "n_repeats": n_repeats,
            "importance_rows": importance_rows,
            "seed": seed,
        },
        data_id=data_id,
        notes=notes,
    )
    if proba is not None:
        result.calibration = calibration(
            y_raw, proba, classes=scorer.classes, pos_label=scorer.pos_label, n_bins=n_bins
        )
    columns = (
        list(slice_columns)
        if slice_columns is not None
        else list(dict.fromkeys([*feats, *sensitive]))
    )
    _check_columns(frame, columns, "slice")
    key = slice_metric or ("accuracy" if kind == "classification" else "mae")
    result.slices = slice_metrics(
        frame,
        columns,
        scorer,
        y_true,
        y_pred,
        proba,
        overall,
        key,
        numeric_bins=numeric_bins,
        max_categories=max_categories,
        min_slice_size=min_slice_size,
        n_worst=n_worst,
    )
    if sensitive:
        if scorer.classes is None:
            kind_of, yt, yp = "regression", y_true, y_pred
        elif len(scorer.classes) == 2:
            kind_of, yt, yp = "binary", y_true == scorer.pos, y_pred == scorer.pos
        else:
            kind_of, yt, yp = "multiclass", y_true, y_pred
        result.fairness = {
            col: group_fairness(
                yt,
                yp,
                slice_labels(frame[col], numeric_bins, max_categories),
                kind=kind_of,
                column=col,
                n_classes=len(scorer.classes or ()),
            )
            for col in sensitive
        }
    if robustness:
        result.robustness = perturbation.robustness(
            X, scorer, y_true, overall, noise_scale, missing_rate, seed
        )
    if importance and feats:
        result.importance_metric = importance_metric or scorer.default_importance_metric()
        result.importance = perturbation.permutation_importance(
            X, scorer, y_true, result.importance_metric, n_repeats, importance_rows, seed
        )
    if shap and feats:
        result.params["shap_rows"] = shap_rows
        result.shap = _shap(X, scorer, shap_rows, seed, notes)
    return result


def _shap(
    X: pl.DataFrame, scorer: _Scorer, rows: int, seed: int, notes: list[str]
) -> ShapResult | None:
    predictor = scorer.predictor
    if scorer.classes is None:
        name = "prediction"

        def output(frame: pl.DataFrame) -> np.ndarray:
            return _array(predictor.predict(frame)).reshape(-1).astype(float)

    elif not scorer.use_proba:
        notes.append("no SHAP values: the classifier gives no class probabilities")
        return None
    elif len(scorer.classes) == 2:
        name = f"P({_plain(scorer.pos_label)})"

        def output(frame: pl.DataFrame) -> np.ndarray:
            return _array(predictor.predict_proba(frame))[:, scorer.pos]

    else:
        name = "class probabilities (mean over classes)"

        def output(frame: pl.DataFrame) -> np.ndarray:
            return _array(predictor.predict_proba(frame))

    return shap_importance(output, X, output_name=name, rows=rows, seed=seed)


def _check_columns(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"{what} column(s) {', '.join(map(repr, missing))} not in the data; "
            f"columns are: {', '.join(frame.columns)}"
        )


def _features(
    predictor: Any,
    frame: pl.DataFrame,
    label: str,
    sensitive: Sequence[str],
    features: Sequence[str] | None,
) -> list[str]:
    if features is None:
        features = getattr(predictor, "feature_names", None)
    if features is None:
        named = getattr(predictor, "feature_names_in_", None)
        features = None if named is None else [str(f) for f in named]
    if features is None:
        features = [c for c in frame.columns if c != label and c not in sensitive]
    feats = list(features)
    if label in feats:
        raise InvalidInput(f"label column {label!r} is also a feature; pick another label")
    _check_columns(frame, feats, "feature")
    return feats


def _infer_task(predictor: Any, y: pl.Series, max_categories: int) -> Task:
    declared = getattr(predictor, "task", None)
    if declared in TASKS:
        return declared
    if _classes_of(predictor) is not None or callable(getattr(predictor, "predict_proba", None)):
        return "classification"
    if y.dtype == pl.Boolean or not y.dtype.is_numeric():
        return "classification"
    if y.dtype.is_integer() and y.n_unique() <= max_categories:
        return "classification"
    return "regression"


class _Scorer:
    """Predicts and measures with fixed classes, so every subset is scored alike.

    Labels are encoded once: class positions for classification, floats for
    regression. ``predict`` returns predictions in the same encoding.
    """

    def __init__(
        self,
        predictor: Any,
        task: Task,
        classes: list[Any] | None,
        pos_label: Any,
        use_proba: bool,
        n_bins: int,
    ) -> None:
        self.predictor = predictor
        self.task = task
        self.classes = classes
        self.pos_label = pos_label
        self.pos = 1
        if classes is not None and pos_label is not None:
            self.pos = int(class_index(np.asarray([pos_label]), classes)[0])
        self.use_proba = use_proba
        self.n_bins = n_bins

    @classmethod
    def build(
        cls,
        predictor: Any,
        X: pl.DataFrame,
        y_true: np.ndarray,
        task: Task,
        pos_label: Any,
        n_bins: int,
    ) -> _Scorer:
        if task == "regression":
            return cls(predictor, task, None, None, False, n_bins)
        known = _classes_of(predictor)
        use_proba = callable(getattr(predictor, "predict_proba", None))
        if known is not None:
            classes = list(known)
        else:
            # Without classes_ the order of predict_proba's columns is unknown,
            # so probabilities are not used; the labels seen stand in for classes.
            preds = _array(predictor.predict(X)).reshape(-1)
            classes = list(np.unique(np.concatenate([y_true, preds])))
            use_proba = False
        if len(classes) < 2:
            raise InvalidInput(
                f"classification needs at least two classes; saw only {classes}; "
                "check the label column or pass task='regression'"
            )
        if len(classes) > 2:
            pos_label = None  # multiclass scores are macro averages, no positive class
        elif pos_label is None:
            pos_label = classes[1]
        return cls(predictor, task, classes, pos_label, use_proba, n_bins)

    def encode(self, y: np.ndarray) -> np.ndarray:
        if self.classes is None:
            return np.asarray(y, dtype=float)
        return class_index(y, self.classes)

    def predict(self, X: pl.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        y_pred = _array(self.predictor.predict(X))
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred[:, 0]
        if y_pred.shape != (X.height,):
            raise InvalidInput(
                f"predict returned shape {y_pred.shape}; expected ({X.height},), one per row"
            )
        proba = _array(self.predictor.predict_proba(X)) if self.use_proba else None
        return self.encode(y_pred), proba

    def metrics(
        self,
        yt: np.ndarray,
        yp: np.ndarray,
        proba: np.ndarray | None,
        only: Collection[str] | None = None,
    ) -> dict[str, float]:
        if self.classes is None:
            return regression_metrics(yt, yp, only=only)
        return indexed_classification_metrics(
            yt, yp, proba, n_classes=len(self.classes), pos=self.pos, n_bins=self.n_bins, only=only
        )

    def default_importance_metric(self) -> str:
        if self.task == "regression":
            return "r2"
        if self.use_proba and self.classes is not None and len(self.classes) == 2:
            return "roc_auc"
        return "accuracy"


def _classes_of(predictor: Any) -> list[Any] | None:
    """The predictor's classes in ``predict_proba`` column order: ``classes_`` or ``classes``."""
    for attr in ("classes_", "classes"):
        value = getattr(predictor, attr, None)
        if isinstance(value, list | tuple | np.ndarray | pl.Series):
            return list(value)
    return None


def _array(values: Any) -> np.ndarray:
    if isinstance(values, pl.Series | pl.DataFrame):
        return values.to_numpy()
    return np.asarray(values)


__all__ = [
    "Comparison",
    "ComparisonRow",
    "EvaluationResult",
    "FairnessResult",
    "Predictor",
    "RobustnessResult",
    "SliceResult",
    "evaluate",
]

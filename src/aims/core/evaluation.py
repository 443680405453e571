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

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import polars as pl

from aims.core import frames, perturbation
from aims.core.evaluation_options import EvaluationOptions
from aims.core.evaluation_result import (
    Comparison,
    ComparisonRow,
    EvaluationResult,
    plain_value,
)
from aims.core.explain import ShapResult, shap_importance
from aims.core.fairness import FairnessResult, group_fairness
from aims.core.fairness import Kind as FairnessKind
from aims.core.metrics import calibration
from aims.core.perturbation import RobustnessResult
from aims.core.scorer import Scorer, infer_task, to_array
from aims.core.slicing import SliceResult, slice_labels, slice_metrics
from aims.errors import InvalidInput


class Predictor(Protocol):
    """Anything with ``predict(frame)``; ``predict_proba`` and ``classes_`` are optional."""

    def predict(self, frame: Any) -> Any: ...


def evaluate(
    predictor: Predictor,
    data: Any,
    options: EvaluationOptions | None = None,
    /,
    **settings: Any,
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
    options, settings
        An :class:`~aims.core.evaluation_options.EvaluationOptions`, or its
        fields as keywords (keywords given with ``options`` override it). They
        are checked before anything runs; the fields are:
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
    opts = EvaluationOptions.of(options, settings)
    label, sensitive = opts.label, opts.sensitive
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
    feats = _features(predictor, frame, label, sensitive, opts.features)
    X = frame.select(feats)
    y_raw = frame[label].to_numpy()
    kind = opts.task or infer_task(predictor, frame[label], opts.max_categories)
    scorer = Scorer.build(predictor, X, y_raw, kind, opts.pos_label, opts.n_bins)
    y_true = scorer.encode(y_raw)
    y_pred, proba = scorer.predict(X)
    overall = scorer.metrics(y_true, y_pred, proba)
    result = EvaluationResult(
        task=kind,
        label=label,
        n_rows=frame.height,
        features=feats,
        metrics=overall,
        classes=None if scorer.classes is None else [plain_value(c) for c in scorer.classes],
        pos_label=plain_value(scorer.pos_label),
        params=opts.params(),
        data_id=opts.data_id,
        notes=notes,
    )
    if proba is not None and scorer.classes is not None:
        result.calibration = calibration(
            y_raw, proba, classes=scorer.classes, pos_label=scorer.pos_label, n_bins=opts.n_bins
        )
    columns = (
        list(opts.slice_columns)
        if opts.slice_columns is not None
        else list(dict.fromkeys([*feats, *sensitive]))
    )
    _check_columns(frame, columns, "slice")
    key = opts.slice_metric or ("accuracy" if kind == "classification" else "mae")
    result.slices = slice_metrics(
        frame,
        columns,
        scorer,
        y_true,
        y_pred,
        proba,
        overall,
        key,
        numeric_bins=opts.numeric_bins,
        max_categories=opts.max_categories,
        min_slice_size=opts.min_slice_size,
        n_worst=opts.n_worst,
    )
    if sensitive:
        result.fairness = _fairness(frame, scorer, y_true, y_pred, opts)
    if opts.robustness:
        result.robustness = perturbation.robustness(
            X, scorer, y_true, overall, opts.noise_scale, opts.missing_rate, opts.seed
        )
    if opts.importance and feats:
        result.importance_metric = opts.importance_metric or scorer.default_importance_metric()
        result.importance = perturbation.permutation_importance(
            X,
            scorer,
            y_true,
            result.importance_metric,
            opts.n_repeats,
            opts.importance_rows,
            opts.seed,
        )
    if opts.shap and feats:
        result.params["shap_rows"] = opts.shap_rows
        result.shap = _shap(X, scorer, opts.shap_rows, opts.seed, notes)
    return result


def _fairness(
    frame: pl.DataFrame,
    scorer: Scorer,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    opts: EvaluationOptions,
) -> dict[str, FairnessResult]:
    kind_of: FairnessKind
    if scorer.classes is None:
        kind_of, yt, yp = "regression", y_true, y_pred
    elif len(scorer.classes) == 2:
        kind_of, yt, yp = "binary", y_true == scorer.pos, y_pred == scorer.pos
    else:
        kind_of, yt, yp = "multiclass", y_true, y_pred
    return {
        col: group_fairness(
            yt,
            yp,
            slice_labels(frame[col], opts.numeric_bins, opts.max_categories),
            kind=kind_of,
            column=col,
            n_classes=len(scorer.classes or ()),
        )
        for col in opts.sensitive
    }


def _shap(
    X: pl.DataFrame, scorer: Scorer, rows: int, seed: int, notes: list[str]
) -> ShapResult | None:
    predictor = scorer.predictor
    if scorer.classes is None:
        name = "prediction"

        def output(frame: pl.DataFrame) -> np.ndarray:
            return to_array(predictor.predict(frame)).reshape(-1).astype(float)

    elif not scorer.use_proba:
        notes.append("no SHAP values: the classifier gives no class probabilities")
        return None
    elif len(scorer.classes) == 2:
        name = f"P({plain_value(scorer.pos_label)})"

        def output(frame: pl.DataFrame) -> np.ndarray:
            return to_array(predictor.predict_proba(frame))[:, scorer.pos]

    else:
        name = "class probabilities (mean over classes)"

        def output(frame: pl.DataFrame) -> np.ndarray:
            return to_array(predictor.predict_proba(frame))

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


__all__ = [
    "Comparison",
    "ComparisonRow",
    "EvaluationOptions",
    "EvaluationResult",
    "FairnessResult",
    "Predictor",
    "RobustnessResult",
    "SliceResult",
    "evaluate",
]

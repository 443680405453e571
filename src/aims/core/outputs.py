"""What a model answered, as the columns the monitor profiles: prediction, score, confidence, entropy.

Pure functions over Polars frames shaped like the prediction log (columns
``prediction``, ``score`` and ``proba``). The monitor applies them to logged
traffic and to the model's own predictions on its training rows (the
reference), so both sides are profiled from the same definitions.
"""

from __future__ import annotations

import math

import polars as pl


def text_of(expr: pl.Expr) -> pl.Expr:
    """Predictions and labels as comparable text: ``"1.0"`` -> ``"1"``, ``"True"`` -> ``"true"``.

    Examples
    --------
    >>> pl.DataFrame({"p": ["1.0", "True", "cat"]}).select(text_of(pl.col("p")))["p"].to_list()
    ['1', 'true', 'cat']
    """
    lowered = expr.str.to_lowercase()
    return (
        pl.when(expr.str.contains(r"^-?\d+\.0+$"))
        .then(expr.str.replace(r"\.0+$", ""))
        .when(lowered.is_in(["true", "false"]))
        .then(lowered)
        .otherwise(expr)
    )


def confidence_entropy(frame: pl.DataFrame, n_classes: int) -> tuple[pl.Expr, pl.Expr]:
    """Top probability and normalised entropy (0 = certain, 1 = uniform) per row.

    Built from ``proba`` when the frame has it, else (two classes) from the
    positive class's ``score``.

    Examples
    --------
    >>> frame = pl.DataFrame({"score": [0.5, 1.0]})
    >>> conf, ent = confidence_entropy(frame, 2)
    >>> frame.select(conf.alias("c"), ent.alias("e")).rows()
    [(0.5, 1.0), (1.0, -0.0)]
    """
    has_proba = "proba" in frame.columns and isinstance(frame.schema["proba"], pl.List)
    score = pl.col("score") if "score" in frame.columns else pl.lit(None, pl.Float64)
    if has_proba:
        p = pl.col("proba")
        term = pl.when(pl.element() > 0).then(pl.element() * pl.element().log()).otherwise(0.0)
        size = p.list.len().cast(pl.Float64)
        ent = -p.list.eval(term).list.sum() / pl.when(size > 1).then(size.log()).otherwise(None)
        conf = p.list.max()
        if n_classes == 2:
            # rows logged with a score only (no probabilities) still have both figures
            s = score.clip(0.0, 1.0)
            conf = pl.coalesce(conf, pl.max_horizontal(s, 1 - s))
        return conf, ent
    if n_classes == 2:
        s = score.clip(0.0, 1.0)
        term = pl.when(s > 0).then(s * s.log()).otherwise(0.0) + pl.when(s < 1).then(
            (1 - s) * (1 - s).log()
        ).otherwise(0.0)
        return pl.max_horizontal(s, 1 - s), -term / math.log(2)
    return score, pl.lit(None, pl.Float64)


def output_frame(batch: pl.DataFrame, task: str, n_classes: int) -> pl.DataFrame:
    """The output columns that are profiled: prediction, score, confidence and entropy.

    Classification predictions are categories (text); regression predictions
    are numbers. ``confidence`` is the top class probability and ``entropy``
    the entropy of the probabilities divided by ``ln(k)``.

    Examples
    --------
    >>> output_frame(pl.DataFrame({"prediction": ["2.5"]}), "regression", 0).item()
    2.5
    """
    pred = pl.col("prediction").cast(pl.String) if "prediction" in batch.columns else None
    if task == "regression":
        value = (
            pred.cast(pl.Float64, strict=False) if pred is not None else pl.lit(None, pl.Float64)
        )
        return batch.select(value.alias("prediction"))
    conf, ent = confidence_entropy(batch, n_classes)
    score = pl.col("score") if "score" in batch.columns else pl.lit(None, pl.Float64)
    return batch.select(
        (text_of(pred) if pred is not None else pl.lit(None, pl.String)).alias("prediction"),
        score.cast(pl.Float64).alias("score"),
        conf.cast(pl.Float64).alias("confidence"),
        ent.cast(pl.Float64).alias("entropy"),
    )


__all__ = ["confidence_entropy", "output_frame", "text_of"]

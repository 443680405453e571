"""Ground truth that arrives late, attached by prediction id or business key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import fsspec
import polars as pl

from aims.errors import InvalidInput
from aims.storage.predlog.reader import PredictionLogReader


class LabelStore:
    """Label files under ``root/_labels/model=<name>/``; the latest label of an id wins."""

    def __init__(self, root: str) -> None:
        self.root = str(root).rstrip("/")
        self.fs, self._base = fsspec.core.url_to_fs(self.root)
        self.reader = PredictionLogReader(root)

    def _folder(self, model: str) -> str:
        return f"{self._base}/_labels/model={model}"

    def ingest(
        self,
        model: str,
        frame: Any,
        *,
        by: str = "prediction_id",
        label: str = "label",
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Store labels from ``frame`` (columns ``by`` and ``label``); returns what matched.

        Labels whose id (or key) is not in the log are not stored; they are
        counted and shown in the result so the caller can fix them.
        """
        from aims.core.frames import to_polars

        if by not in ("prediction_id", "key"):
            raise InvalidInput(f"labels attach by 'prediction_id' or 'key', not {by!r}")
        frame = to_polars(frame)
        for col in (by, label):
            if col not in frame.columns:
                raise InvalidInput(
                    f"label data lacks column {col!r}; it needs {by!r} and {label!r} "
                    f"(has {', '.join(frame.columns)})"
                )
        incoming = frame.select(
            pl.col(by).cast(pl.String), pl.col(label).cast(pl.String).alias("label")
        ).filter(pl.col(by).is_not_null() & pl.col("label").is_not_null())
        if incoming.is_empty():
            raise InvalidInput("no labels to ingest (every row lacks an id or a label)")
        wanted = incoming.get_column(by).unique().implode()
        log = self.reader.scan(model)
        if by in log.collect_schema():
            known = (
                log.select(pl.col(by).cast(pl.String))
                .filter(pl.col(by).is_in(wanted))
                .unique()
                .collect()
                .get_column(by)
                .implode()
            )
        else:
            known = pl.Series(by, [], pl.String).implode()
        matched = incoming.filter(pl.col(by).is_in(known))
        unknown = incoming.filter(~pl.col(by).is_in(known))
        if matched.height:
            stamp = now or datetime.now(UTC)
            other = "key" if by == "prediction_id" else "prediction_id"
            out = matched.with_columns(
                pl.lit(None, pl.String).alias(other),
                pl.lit(stamp).dt.convert_time_zone("UTC").alias("labelled_at"),
            ).select("prediction_id", "key", "label", "labelled_at")
            folder = self._folder(model)
            self.fs.makedirs(folder, exist_ok=True)
            tmp = f"{folder}/.tmp-{uuid.uuid4().hex}.parquet"
            with self.fs.open(tmp, "wb") as f:
                out.write_parquet(f)
            name = f"part-{stamp.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.parquet"
            self.fs.mv(tmp, f"{folder}/{name}")
        return {
            "model": model,
            "by": by,
            "received": incoming.height,
            "matched": matched.height,
            "unknown": unknown.height,
            "unknown_examples": unknown.get_column(by).head(5).to_list(),
        }

    def scan(self, model: str) -> pl.LazyFrame:
        """The latest label per prediction id and per key."""
        folder = self._folder(model)
        files = (
            [
                f
                for f in self.fs.ls(folder, detail=False)
                if f.rsplit("/", 1)[-1].startswith("part-")
            ]
            if self.fs.exists(folder)
            else []
        )
        if not files:
            return pl.LazyFrame(
                schema={
                    "prediction_id": pl.String,
                    "key": pl.String,
                    "label": pl.String,
                    "labelled_at": pl.Datetime("us", "UTC"),
                }
            )
        return pl.concat(
            [pl.scan_parquet(self.reader._url(f)) for f in files], how="diagonal_relaxed"
        )

    def scan_labelled(self, model: str, **filters: Any) -> pl.LazyFrame:
        """The log joined with the latest label of each prediction (by id, else by key)."""
        labels = self.scan(model).sort("labelled_at")
        by_id = (
            labels.filter(pl.col("prediction_id").is_not_null())
            .unique("prediction_id", keep="last")
            .select(
                "prediction_id",
                pl.col("label").alias("_label_id"),
                pl.col("labelled_at").alias("_at_id"),
            )
        )
        by_key = (
            labels.filter(pl.col("key").is_not_null())
            .unique("key", keep="last")
            .select(
                "key", pl.col("label").alias("_label_key"), pl.col("labelled_at").alias("_at_key")
            )
        )
        log = self.reader.scan(model, **filters)
        if "key" not in log.collect_schema():
            log = log.with_columns(pl.lit(None, pl.String).alias("key"))
        return (
            log.join(by_id, on="prediction_id", how="left")
            .join(by_key, on="key", how="left")
            .with_columns(
                pl.coalesce("_label_id", "_label_key").alias("label"),
                pl.coalesce("_at_id", "_at_key").alias("labelled_at"),
            )
            .drop("_label_id", "_label_key", "_at_id", "_at_key")
        )

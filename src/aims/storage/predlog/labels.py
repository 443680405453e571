"""Ground truth that arrives late, attached by prediction id or business key.

Labels are files of their own under ``_labels/model=<name>/``, never
rewrites of the log: a label may come days after its prediction, and the log
files stay immutable. Each ingested batch is one new file, so labels are an
append-only history: a label sent again for the same prediction is a new row,
never an update of the old one. Each label file holds::

    prediction_id | key | label (text) | label_value (float) | labelled_at (UTC)
    | labelled_by | source | batch

with exactly one of ``prediction_id`` and ``key`` set. ``labelled_by`` is who
sent the batch (an API key's principal, or the person at the command line),
``source`` how (``api``, ``cli``) and ``batch`` the batch's id, also named by
the batch's audit event. Files written before these three columns existed
read them as null. ``label`` is the text
form used for predictions too (:func:`~aims.storage.predlog.schema.as_text`),
so a class sent as ``1`` and labelled ``1.0`` compare equal; ``label_value``
is the number, when the label is one (regression, 0/1 classes).

When one id (or key) is labelled more than once, the latest ``labelled_at``
wins; within one ingested batch, the last row wins. A label by key applies to
every prediction carrying that key; a label by id beats one by key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Literal

import polars as pl

from aims.clock import utc
from aims.errors import InvalidInput
from aims.storage.predlog.layout import Layout, part_name
from aims.storage.predlog.reader import PredictionLogReader
from aims.storage.predlog.schema import text_column

__all__ = ["EXAMPLES", "LABEL_SCHEMA", "LabelBy", "LabelIngest", "LabelStore"]

LABEL_SCHEMA: dict[str, pl.DataType] = {
    "prediction_id": pl.String(),
    "key": pl.String(),
    "label": pl.String(),
    "label_value": pl.Float64(),
    "labelled_at": pl.Datetime("us", "UTC"),
    "labelled_by": pl.String(),
    "source": pl.String(),
    "batch": pl.String(),
}
LabelBy = Literal["prediction_id", "key"]
EXAMPLES = 5


@dataclass(frozen=True)
class LabelIngest:
    """What :meth:`LabelStore.ingest` did with a batch of labels."""

    model: str
    by: str
    received: int
    """Rows with both an id and a label."""
    stored: int
    matched: int
    """Distinct ids (or keys) found in the log."""
    unknown: int
    """Distinct ids (or keys) not in the log (stored only with ``keep_unknown``)."""
    duplicates: int
    """Rows dropped because a later row of the same batch labels the same id."""
    skipped: int
    """Rows without an id or without a label."""
    unknown_examples: list[str] = field(default_factory=list)
    batch: str | None = None
    """The id written with every stored row of this batch."""

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class LabelStore:
    """Labels of the log under ``root``; joined with predictions by :meth:`scan_labelled`.

    Examples
    --------
    >>> import tempfile
    >>> from aims.storage.predlog import PredictionLogWriter
    >>> root = tempfile.mkdtemp()
    >>> with PredictionLogWriter(root) as writer:
    ...     ids = writer.append("churn", 1, "production", [{"age": 41}, {"age": 35}], [1, 0])
    >>> store = LabelStore(root)
    >>> batch = pl.DataFrame({"prediction_id": [ids[0]], "label": [0]})
    >>> store.ingest("churn", batch, labelled_by="ana").matched
    1
    >>> store.scan_labelled("churn").select("prediction", "label").collect().rows()
    [('1', '0'), ('0', None)]
    """

    def __init__(self, root: str) -> None:
        self.reader = PredictionLogReader(root)
        self.layout: Layout = self.reader.layout
        self.root = self.layout.root

    def ingest(
        self,
        model: str,
        frame: pl.DataFrame,
        *,
        by: LabelBy = "prediction_id",
        column: str | None = None,
        label: str = "label",
        since: datetime | None = None,
        keep_unknown: bool = False,
        now: datetime | None = None,
        labelled_by: str | None = None,
        source: str | None = None,
        batch: str | None = None,
    ) -> LabelIngest:
        """Store the labels in ``frame`` for ``model``'s predictions.

        Parameters
        ----------
        model
            The model whose predictions are labelled.
        frame
            The labels, a Polars table (read files with :func:`aims.core.frames.read`).
        by
            Attach by ``"prediction_id"`` or by the business ``"key"``.
        column
            The column of ``frame`` holding the id or key (default: ``by``).
        label
            The column of ``frame`` holding the ground truth.
        since
            Only look for the ids among predictions made since then (faster
            on a long log); older ones count as unknown.
        keep_unknown
            Also store labels whose id is not (yet) in the log. By default
            they are not stored, but counted and shown by example.
        now
            The ``labelled_at`` time (default: now).
        labelled_by, source
            Who sent the batch and how; stored with every row.
        batch
            The batch's id (default: a new random one).
        """
        if not isinstance(frame, pl.DataFrame):
            raise TypeError(f"labels are a polars DataFrame, not {type(frame).__name__}")
        if by not in ("prediction_id", "key"):
            raise InvalidInput(f"labels attach by 'prediction_id' or 'key', not {by!r}")
        column = column or by
        batch = batch or uuid.uuid4().hex
        missing = [c for c in (column, label) if c not in frame.columns]
        if missing:
            raise InvalidInput(
                f"label data lacks column {', '.join(map(repr, missing))}; it needs the "
                f"{'prediction id' if by == 'prediction_id' else 'business key'} column {column!r} "
                f"and the label column {label!r} (it has {', '.join(frame.columns) or 'none'})"
            )
        dtype = frame.schema[label]
        numeric = (
            pl.col(label).cast(pl.Float64, strict=False)
            if dtype != pl.String
            else (pl.col(label).str.strip_chars().cast(pl.Float64, strict=False))
        )
        rows = frame.select(
            text_column(pl.col(column), frame.schema[column]).alias(by),
            text_column(pl.col(label), dtype).alias("label"),
            numeric.alias("label_value"),
        )
        complete = rows.filter(pl.col(by).is_not_null() & pl.col("label").is_not_null())
        if complete.is_empty():
            raise InvalidInput(
                f"no labels to ingest: none of the {frame.height} rows has both {column!r} and {label!r}"
            )
        latest = complete.unique(by, keep="last", maintain_order=True)
        known = self._known(model, by, latest.get_column(by), since)
        is_known = pl.col(by).is_in(known.implode())
        unknown = latest.filter(~is_known)
        keep = latest if keep_unknown else latest.filter(is_known)
        if keep.height:
            other = "key" if by == "prediction_id" else "prediction_id"
            stamp = utc(now) if now is not None else datetime.now(UTC)
            out = keep.with_columns(
                pl.lit(None, pl.String).alias(other),
                pl.lit(stamp, pl.Datetime("us", "UTC")).alias("labelled_at"),
                pl.lit(labelled_by, pl.String).alias("labelled_by"),
                pl.lit(source, pl.String).alias("source"),
                pl.lit(batch, pl.String).alias("batch"),
            ).select(list(LABEL_SCHEMA))

            def write(f: IO[bytes]) -> None:
                out.write_parquet(f, compression="zstd")

            self.layout.write_atomic(self.layout.labels_dir(model), write, part_name())
        return LabelIngest(
            model=model,
            by=by,
            received=complete.height,
            stored=keep.height,
            matched=latest.height - unknown.height,
            unknown=unknown.height,
            duplicates=complete.height - latest.height,
            skipped=frame.height - complete.height,
            unknown_examples=unknown.get_column(by).head(EXAMPLES).to_list(),
            batch=batch if keep.height else None,
        )

    def _known(self, model: str, by: str, wanted: pl.Series, since: datetime | None) -> pl.Series:
        """Which of ``wanted`` are in the log (one column scanned, streamed)."""
        log = self.reader.scan(model, since=since)
        return (
            log.select(pl.col(by))
            .filter(pl.col(by).is_in(wanted.implode()))
            .unique()
            .collect(engine="streaming")
            .get_column(by)
        )

    def scan(self, model: str) -> pl.LazyFrame:
        """Every stored label of ``model``, as written (use :meth:`latest` for one per id)."""
        files = list(self.layout.data_files(self.layout.labels_dir(model)))
        if not files:
            return pl.LazyFrame(schema=LABEL_SCHEMA)
        lazy = self.layout.scan(files)
        have = lazy.collect_schema().names()
        return lazy.select(
            (pl.col(c) if c in have else pl.lit(None)).cast(t).alias(c)
            for c, t in LABEL_SCHEMA.items()
        )

    def history(self, model: str, by: LabelBy, ids: list[str]) -> pl.DataFrame:
        """Every label ever stored for ``ids`` (prediction ids or keys), oldest first.

        The latest row of an id is the one monitoring uses; the earlier ones
        are what it replaced, with who sent each and when.
        """
        if by not in ("prediction_id", "key"):
            raise InvalidInput(f"labels attach by 'prediction_id' or 'key', not {by!r}")
        return (
            self.scan(model)
            .filter(pl.col(by).is_in(pl.Series(ids, dtype=pl.String).implode()))
            .sort(by, "labelled_at", maintain_order=True)
            .collect()
        )

    def latest(self, model: str, by: LabelBy) -> pl.LazyFrame:
        """The latest label of each prediction id (or key): columns ``by``, label, value, time."""
        return (
            self.scan(model)
            .filter(pl.col(by).is_not_null())
            .group_by(by)
            .agg(pl.col("label", "label_value", "labelled_at").sort_by("labelled_at").last())
        )

    def scan_labelled(
        self,
        model: str,
        *,
        version: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        labelled_only: bool = False,
    ) -> pl.LazyFrame:
        """The log joined with the latest label of each prediction, lazily.

        Adds ``label``, ``label_value`` and ``labelled_at`` (null while a
        prediction has no label). A label by prediction id beats one by key.
        """
        log = self.reader.scan(model, version=version, role=role, since=since, until=until)
        by_id = self.latest(model, "prediction_id").rename(
            {"label": "_l_id", "label_value": "_v_id", "labelled_at": "_t_id"}
        )
        by_key = self.latest(model, "key").rename(
            {"label": "_l_key", "label_value": "_v_key", "labelled_at": "_t_key"}
        )
        joined = (
            log.join(by_id, on="prediction_id", how="left", maintain_order="left")
            .join(by_key, on="key", how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("_l_id").is_not_null())
                .then(pl.struct(label="_l_id", label_value="_v_id", labelled_at="_t_id"))
                .otherwise(pl.struct(label="_l_key", label_value="_v_key", labelled_at="_t_key"))
                .alias("_label")
            )
            .drop("_l_id", "_v_id", "_t_id", "_l_key", "_v_key", "_t_key")
            .unnest("_label")
        )
        if labelled_only:
            joined = joined.filter(pl.col("label").is_not_null())
        return joined

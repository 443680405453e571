"""Reading the prediction log lazily, partition by partition.

Nothing here loads the whole log: :meth:`PredictionLogReader.scan` returns a
lazy Polars frame over only the partitions that can hold matching rows (the
model, version and hour come from folder names, so other partitions are never
opened), and :meth:`PredictionLogReader.iter_batches` streams rows one Parquet
row group at a time, so memory stays bounded by the batch size whatever the
size of the log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import polars as pl

from aims.clock import utc
from aims.errors import InvalidInput
from aims.storage.predlog.layout import Layout, Partition, conform, order_columns, union_schema
from aims.storage.predlog.schema import FIXED_SCHEMA, check_role

__all__ = ["DEFAULT_BATCH_ROWS", "PredictionLogReader"]

DEFAULT_BATCH_ROWS = 250_000


class PredictionLogReader:
    """Lazy access to the log under ``root`` (a folder or fsspec URL).

    Files written at different times may have different columns (a feature
    added later, an int column that became float); every read unifies them:
    a missing column is null, a column takes the widest type it has anywhere.

    Examples
    --------
    >>> import tempfile
    >>> from aims.storage.predlog import PredictionLogWriter
    >>> root = tempfile.mkdtemp()
    >>> with PredictionLogWriter(root) as writer:
    ...     _ = writer.append("churn", 1, "production", [{"age": 41}, {"age": 35}], [1, 0])
    >>> reader = PredictionLogReader(root)
    >>> reader.count("churn"), reader.scan("churn").select("age").collect()["age"].to_list()
    (2, [41, 35])
    """

    def __init__(self, root: str) -> None:
        self.layout = Layout(root)
        self.root = self.layout.root

    def models(self) -> list[str]:
        """Names of the models that have a log."""
        return self.layout.models()

    def partitions(
        self,
        model: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Partition]:
        """The (version, hour) partitions of ``model`` overlapping ``[since, until)``, oldest first."""
        return self.layout.partitions(model, version=version, since=since, until=until)

    def files(
        self,
        model: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[str]:
        """The data files of ``model``'s partitions overlapping ``[since, until)``."""
        parts = self.partitions(model, version=version, since=since, until=until)
        return [f for p in parts for f in p.files]

    def schema(
        self,
        model: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pl.Schema:
        """The unified columns of the matching rows, read from file footers only."""
        return self._schema_of(self.files(model, version=version, since=since, until=until))

    def _schema_of(self, files: Sequence[str]) -> pl.Schema:
        schema = union_schema([pl.Schema(FIXED_SCHEMA), *(self.layout.schema(f) for f in files)])
        full = pl.Schema(dict(schema) | {"model": pl.String(), "version": pl.Int64()})
        return pl.Schema({c: full[c] for c in order_columns(full)})

    def scan(
        self,
        model: str,
        *,
        version: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pl.LazyFrame:
        """The log of ``model`` as a lazy frame; nothing is read until it is collected.

        Parameters
        ----------
        model
            The model name.
        version
            Only this version.
        role
            Only ``production``, ``canary`` or ``shadow`` predictions.
        since, until
            Only predictions made in ``[since, until)`` (naive datetimes are UTC).

        Columns: the fixed ones (``prediction_id`` ... ``key``), ``model``,
        ``version``, then one column per input feature.
        """
        if role is not None:
            check_role(role)
        files = self.files(model, version=version, since=since, until=until)
        schema = self._schema_of(files)
        if not files:
            return pl.LazyFrame(schema=schema)
        lazy = self.layout.scan(files, model=model)
        have = lazy.collect_schema()
        lazy = lazy.select(
            pl.col(c).cast(t) if c in have else pl.lit(None, t).alias(c) for c, t in schema.items()
        )
        predicate = _row_filter(role, since, until)
        return lazy if predicate is None else lazy.filter(predicate)

    def iter_batches(
        self,
        model: str,
        *,
        version: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        columns: Sequence[str] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Iterator[pl.DataFrame]:
        """The matching rows in frames of at most ``batch_rows`` rows, oldest partition first.

        Every frame has the same columns and types (those of :meth:`schema`,
        or ``columns`` in that order), so a consumer can merge statistics
        batch by batch. Memory holds one Parquet row group plus one batch.
        """
        if batch_rows < 1:
            raise InvalidInput(f"batch_rows is a positive number of rows, not {batch_rows}")
        if role is not None:
            check_role(role)
        parts = self.partitions(model, version=version, since=since, until=until)
        schema = self._schema_of([f for p in parts for f in p.files])
        if columns is not None:
            unknown = [c for c in columns if c not in schema]
            if unknown:
                raise InvalidInput(
                    f"the log of {model!r} has no column {', '.join(map(repr, unknown))}; "
                    f"it has {', '.join(schema)}"
                )
            schema = pl.Schema({c: schema[c] for c in columns})
        # Filters need these columns even when the caller does not ask for them.
        needed = set(schema) | {
            c for c, v in (("role", role), ("ts", since or until)) if v is not None
        }
        predicate = _row_filter(role, since, until)
        pending: list[pl.DataFrame] = []
        held = 0
        for part in parts:
            for path in part.files:
                for batch in self.layout.iter_file(path, batch_rows, sorted(needed)):
                    batch = batch.with_columns(
                        pl.lit(model).alias("model"),
                        pl.lit(part.version, pl.Int64).alias("version"),
                    )
                    if predicate is not None:
                        batch = batch.filter(predicate)
                    if batch.height == 0:
                        continue
                    pending.append(conform(batch, schema))
                    held += batch.height
                    while held >= batch_rows:
                        whole = pl.concat(pending)
                        yield whole.slice(0, batch_rows)
                        rest = whole.slice(batch_rows)
                        pending, held = ([rest] if rest.height else []), rest.height
        if held:
            yield pl.concat(pending)

    def count(
        self,
        model: str,
        *,
        version: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Number of matching predictions (answered from Parquet metadata when unfiltered)."""
        lazy = self.scan(model, version=version, role=role, since=since, until=until)
        return int(lazy.select(pl.len()).collect().item())


def _row_filter(role: str | None, since: datetime | None, until: datetime | None) -> pl.Expr | None:
    """The row condition, or None when every row matches (Polars then counts from metadata)."""
    terms = []
    if role is not None:
        terms.append(pl.col("role") == role)
    if since is not None:
        terms.append(pl.col("ts") >= utc(since))
    if until is not None:
        terms.append(pl.col("ts") < utc(until))
    return pl.all_horizontal(terms) if terms else None

"""Merging an hour's many small part files into one.

The writer adds one file per partition per flush: about 3,600 files an hour
for a model under steady traffic, which makes listing and scanning slow. Run
:func:`compact_closed` periodically (for example hourly, from the monitor's
schedule or cron); it merges every hour that ended at least ``older_than``
ago, when no writer adds to it any more.

Compaction is safe to run at any time and to interrupt: the merged file is
written under a hidden name and renamed, and it names the files it replaces in
its Parquet metadata, so readers skip those from the moment it appears, and
then they are deleted. A crash in between leaves files that readers ignore and
the next run deletes. Run it from one place at a time.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO

import polars as pl
import pyarrow.parquet as pq

from aims.clock import utc
from aims.errors import InvalidInput
from aims.storage.predlog.layout import (
    COMPACT_TAG,
    REPLACES_KEY,
    Layout,
    conform,
    is_data_file,
    part_name,
    union_schema,
)
from aims.storage.predlog.schema import HOUR_FORMAT, hour_of

__all__ = ["ROW_GROUP_ROWS", "CompactionResult", "compact", "compact_closed"]

#: Rows per Parquet row group in a merged file: the unit a streaming reader holds.
ROW_GROUP_ROWS = 100_000


@dataclass(frozen=True)
class CompactionResult:
    """What :func:`compact_closed` did."""

    partitions: int
    files_merged: int
    files_removed: int


def _root(root: str | Layout) -> Layout:
    return root if isinstance(root, Layout) else Layout(root)


def compact(
    root: str | Layout,
    model: str,
    version: int,
    hour: datetime | str,
    *,
    row_group_rows: int = ROW_GROUP_ROWS,
    now: datetime | None = None,
) -> int:
    """Merge one partition's part files into a single file; returns the files merged.

    Rows are streamed one row group at a time, so memory does not grow with
    the size of the hour. Hidden files left by a killed writer are removed
    once the hour has been over for an hour.

    Parameters
    ----------
    root
        The log root (folder or fsspec URL).
    model, version, hour
        The partition; ``hour`` is a datetime within it or ``YYYY-MM-DDTHH``.
    row_group_rows
        Rows per row group of the merged file.
    now
        The current time (for tests).
    """
    layout = _root(root)
    if isinstance(hour, datetime):
        hour_text = hour_of(hour)
    else:
        try:
            hour_text = hour_of(datetime.strptime(hour, HOUR_FORMAT))
        except ValueError:
            raise InvalidInput(f"hour is written YYYY-MM-DDTHH, not {hour!r}") from None
    folder = layout.partition_dir(model, int(version), hour_text)
    files = layout.data_files(folder)
    merged = 0
    if len(files) > 1:
        _merge(layout, folder, files, row_group_rows)
        merged = len(files)
    _clean(layout, folder, hour_text, now or datetime.now(UTC))
    return merged


def _merge(layout: Layout, folder: str, files: tuple[str, ...], row_group_rows: int) -> None:
    schema = union_schema([layout.schema(f) for f in files])
    names = [f.rsplit("/", 1)[-1] for f in files]
    arrow = pl.DataFrame(schema=schema).to_arrow().schema
    arrow = arrow.with_metadata({REPLACES_KEY: json.dumps(names)})

    def write(f: IO[bytes]) -> None:
        with pq.ParquetWriter(f, arrow, compression="zstd") as out:
            # Each write_table call ends a row group, so small files' rows are
            # gathered first: the merged file has row groups of row_group_rows.
            pending: list[pl.DataFrame] = []
            held = 0
            for path in files:
                for batch in layout.iter_file(path, row_group_rows):
                    pending.append(conform(batch, schema))
                    held += batch.height
                    if held >= row_group_rows:
                        whole = pl.concat(pending)
                        out.write_table(whole.slice(0, row_group_rows).to_arrow().cast(arrow))
                        rest = whole.slice(row_group_rows)
                        pending, held = ([rest] if rest.height else []), rest.height
            if held:
                out.write_table(pl.concat(pending).to_arrow().cast(arrow))

    layout.write_atomic(folder, write, part_name(COMPACT_TAG))


def _clean(layout: Layout, folder: str, hour_text: str, now: datetime) -> int:
    """Delete replaced part files, and hidden leftovers once the hour is long over."""
    names = layout.names(folder)
    live = {f.rsplit("/", 1)[-1] for f in layout.data_files(folder)}
    doomed = [n for n in names if is_data_file(n) and n not in live]
    hour_end = utc(datetime.strptime(hour_text, HOUR_FORMAT)) + timedelta(hours=1)
    if utc(now) - hour_end >= timedelta(hours=1):
        doomed += [n for n in names if n.startswith(".tmp-")]
    for n in doomed:
        with contextlib.suppress(FileNotFoundError):  # removed by someone else meanwhile
            layout.fs.rm(f"{folder}/{n}")
    return len(doomed)


def compact_closed(
    root: str | Layout,
    *,
    model: str | None = None,
    older_than: timedelta = timedelta(hours=2),
    now: datetime | None = None,
) -> CompactionResult:
    """Compact every partition whose hour ended at least ``older_than`` ago.

    Parameters
    ----------
    root
        The log root (folder or fsspec URL).
    model
        Only this model (default: every model in the log).
    older_than
        How long after its end an hour counts as closed. Writers put a row in
        the hour of its timestamp and flush within seconds, so the default of
        two hours leaves a wide margin.
    now
        The current time (for tests).
    """
    layout = _root(root)
    now = utc(now) if now is not None else datetime.now(UTC)
    # An hour is closed when its end is older_than ago: its start precedes this.
    cutoff = now - older_than - timedelta(hours=1)
    partitions = merged = removed = 0
    for name in [model] if model is not None else layout.models():
        for part in layout.partitions(name, until=cutoff):
            folder = layout.partition_dir(name, part.version, hour_of(part.hour))
            before = len(layout.names(folder))
            n = compact(layout, name, part.version, part.hour, now=now)
            if n:
                partitions += 1
                merged += n
            removed += before + (1 if n else 0) - len(layout.names(folder))
    return CompactionResult(partitions, merged, removed)

"""Data sources of a distributed profile: files, folders and fsspec URLs split into parts.

A part is the unit of work an engine hands to a worker: one CSV or Arrow
file, or one row group of a Parquet file, so that a task holds at most one
batch in memory however large the file is. Parts are listed in a fixed order
(paths as given, files of a folder sorted by name, row groups in file order),
which makes merged profiles reproducible on every engine.

Folders are read recursively, as hive-partitioned layouts are
(``day=2024-05-01/part-0.parquet``); the partition keys in folder names are
not columns of the profile. Hidden files and Spark or Hadoop markers
(``_SUCCESS``, names starting with ``.`` or ``_``) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import polars as pl

from aims.core import frames
from aims.errors import InvalidInput, NotFound

__all__ = ["Part", "batches", "column_batches", "expand", "filesystem", "first_rows", "is_url"]


@dataclass(frozen=True)
class Part:
    """One unit of work: a file (local path or URL), its format, and its row group if Parquet."""

    url: str
    fmt: str
    row_group: int | None = None


def is_url(path: str) -> bool:
    """Whether ``path`` names a remote or fsspec location (``s3://``, ``memory://`` ...)."""
    return "://" in path and not path.startswith("file://")


def filesystem(path: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``path`` and the path within it."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(path)
    except ImportError as exc:
        raise InvalidInput(
            f"{path}: reading this location needs a filesystem package ({exc}); for s3:// "
            "install pip install 'aims[s3]'"
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"{path}: not a usable location: {exc}") from None


def _format(name: str) -> str | None:
    return frames.SUFFIXES.get(PurePosixPath(name).suffix.lower())


def _hidden(relative: str) -> bool:
    return any(piece.startswith((".", "_")) for piece in PurePosixPath(relative).parts)


def _parquet_groups(fs: Any, path: str) -> int:
    import pyarrow.parquet as pq

    try:
        with fs.open(path, "rb") as fh:
            return int(pq.ParquetFile(fh).metadata.num_row_groups)
    except Exception as exc:
        raise InvalidInput(f"{path}: cannot be read as parquet: {exc}") from None


def _files(path: str) -> tuple[Any, list[str]]:
    fs, root = filesystem(path)
    if fs.isdir(root):
        found = sorted(
            f for f in fs.find(root) if _format(f) and not _hidden(f[len(root) :].lstrip("/"))
        )
        if not found:
            raise InvalidInput(
                f"{path}: no data files in this folder; aims reads "
                f"{', '.join(sorted(frames.SUFFIXES))} files"
            )
        return fs, found
    if not fs.exists(root):
        raise NotFound(f"{path}: no such file or folder")
    if _format(root) is None:
        raise InvalidInput(
            f"{path}: unsupported file type; use one of {', '.join(sorted(frames.SUFFIXES))}"
        )
    return fs, [root]


def expand(paths: list[str]) -> list[Part]:
    """The parts of every path of ``paths`` (files, folders or URLs), in a fixed order."""
    if not paths:
        raise InvalidInput("give at least one data file or folder")
    parts: list[Part] = []
    for path in paths:
        fs, files = _files(path)
        remote = is_url(path)
        for name in files:
            url = fs.unstrip_protocol(name) if remote else name
            fmt = _format(name) or ""
            if fmt == "parquet":
                groups = _parquet_groups(fs, name)
                parts.extend(Part(url, fmt, g) for g in range(groups))
                if groups == 0:
                    parts.append(Part(url, fmt, None))
            else:
                parts.append(Part(url, fmt))
    return parts


def batches(
    part: Part,
    batch_rows: int = frames.DEFAULT_BATCH_ROWS,
    columns: list[str] | None = None,
    *,
    threads: bool = True,
) -> Iterator[pl.DataFrame]:
    """The rows of ``part`` in batches of at most ``batch_rows`` rows, one batch held at a time.

    With ``threads=False`` a Parquet part is decoded on the calling thread
    rather than on Arrow's thread pool: a cluster task is then one core, as
    its worker's thread count promises.
    """
    if part.fmt == "parquet":
        import pyarrow.parquet as pq

        fs, path = filesystem(part.url)
        with fs.open(path, "rb") as fh:
            pf = pq.ParquetFile(fh, pre_buffer=False)
            if part.row_group is None:
                return
            names = None if columns is None else [c for c in columns if c in pf.schema_arrow.names]
            for batch in pf.iter_batches(
                batch_size=batch_rows,
                row_groups=[part.row_group],
                columns=names,
                use_threads=threads,
            ):
                yield pl.DataFrame(batch)
        return
    if not is_url(part.url):
        yield from frames.iter_batches(part.url, batch_rows=batch_rows, columns=columns)
        return
    fs, path = filesystem(part.url)
    with fs.open(path, "rb") as fh:
        if part.fmt == "ipc":
            frame = pl.read_ipc(fh)
        else:
            sep = "\t" if part.fmt == "tsv" else ","
            frame = pl.read_csv(fh, separator=sep, infer_schema_length=10_000, try_parse_dates=True)
    if columns is not None:
        frame = frame.select([c for c in columns if c in frame.columns])
    for start in range(0, frame.height, batch_rows):
        yield frame.slice(start, batch_rows)


def column_batches(
    part: Part, batch_rows: int = frames.DEFAULT_BATCH_ROWS, columns: list[str] | None = None
) -> Iterator[Iterator[pl.DataFrame]]:
    """The batches of a Parquet ``part`` one column at a time, decoded on the calling thread.

    For each of ``columns`` the file has (every column by default), in that
    order, an iterator of that column's batches as one-column frames, cut where
    :func:`batches` cuts them. So a reader holds one column of a batch, not the
    whole batch: a few MB instead of the batch's width times that. A column's
    iterator must be used up before the next is taken (they read one open file).
    """
    if part.fmt != "parquet":
        raise InvalidInput(f"{part.url}: only Parquet is read a column at a time")
    import pyarrow.parquet as pq

    fs, path = filesystem(part.url)
    with fs.open(path, "rb") as fh:
        pf = pq.ParquetFile(fh, pre_buffer=False)
        if part.row_group is None:
            return
        have = pf.schema_arrow.names
        names = list(have) if columns is None else [c for c in columns if c in have]
        for name in names:
            yield (
                pl.DataFrame(batch)
                for batch in pf.iter_batches(
                    batch_size=batch_rows,
                    row_groups=[part.row_group],
                    columns=[name],
                    use_threads=False,
                )
            )


def first_rows(parts: list[Part], rows: int, columns: list[str] | None = None) -> pl.DataFrame:
    """Up to ``rows`` rows of the first part that has any: the sample that fixes the layouts."""
    for part in parts:
        for batch in batches(part, rows, columns):
            if batch.height:
                return batch
    raise InvalidInput("no data to profile: every file given is empty")

"""Reading tabular data: Parquet, CSV, Arrow IPC, Polars, pandas or PyArrow objects.

Everything inside aims works on Polars. Files are scanned lazily so that large
inputs can be streamed in bounded-size batches; a file that is missing or does
not parse raises one clear :class:`~aims.errors.InvalidInput` / ``NotFound``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from aims.errors import InvalidInput, NotFound

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "SUFFIXES",
    "collect",
    "iter_batches",
    "read",
    "scan",
    "schema_of",
    "to_polars",
]

SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".arrow": "ipc",
    ".feather": "ipc",
    ".ipc": "ipc",
}

DEFAULT_BATCH_ROWS = 250_000


def _kind(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(SUFFIXES))}"
        )
    return kind


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise NotFound(f"{path}: no such file")
    if path.is_dir():
        raise InvalidInput(f"{path}: is a folder; give a data file")


def scan(source: str | Path) -> pl.LazyFrame:
    """Lazily scan a data file; nothing is read until the plan is collected."""
    path = Path(source)
    _check_exists(path)
    kind = _kind(path)
    try:
        if kind == "parquet":
            return pl.scan_parquet(path)
        if kind == "ipc":
            return pl.scan_ipc(path)
        sep = "\t" if kind == "tsv" else ","
        return pl.scan_csv(path, separator=sep, infer_schema_length=10_000, try_parse_dates=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidInput(f"{path}: cannot be read as {kind}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def collect(lazy: pl.LazyFrame, what: str) -> pl.DataFrame:
    """Collect ``lazy``, turning a parse failure into one clear line about ``what``."""
    try:
        return lazy.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidInput(f"{what}: cannot be parsed: {_first_line(exc)}") from None


def schema_of(source: str | Path) -> dict[str, pl.DataType]:
    """The column names and types of a data file, without reading its rows."""
    lazy = scan(source)
    try:
        return dict(lazy.collect_schema())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidInput(f"{source}: cannot be parsed: {_first_line(exc)}") from None


def read(source: Any, columns: list[str] | None = None) -> pl.DataFrame:
    """Read ``source`` (a path or an in-memory frame of any supported kind) fully."""
    if isinstance(source, str | Path):
        lazy = scan(source)
        if columns is not None:
            lazy = lazy.select(columns)
        return collect(lazy, str(source))
    frame = to_polars(source)
    return frame.select(columns) if columns is not None else frame


def to_polars(obj: Any) -> pl.DataFrame:
    """Convert a Polars, pandas or PyArrow table to a Polars DataFrame."""
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    module = type(obj).__module__.split(".")[0]
    if module == "pyarrow":
        return pl.DataFrame(obj)
    if module == "pandas":
        return pl.from_pandas(obj)
    if isinstance(obj, dict):
        return pl.DataFrame(obj)
    raise InvalidInput(
        f"cannot use a {type(obj).__name__} as a table; give a file path, "
        "a Polars, pandas or PyArrow table"
    )


def iter_batches(
    source: Any, batch_rows: int = DEFAULT_BATCH_ROWS, columns: list[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Yield ``source`` in batches of at most ``batch_rows`` rows, in constant memory.

    Parquet files are read row group by row group with PyArrow, CSV and Arrow
    files with Polars' batched readers, so only one batch is held at a time.
    """
    if not isinstance(source, str | Path):
        frame = to_polars(source)
        if columns is not None:
            frame = frame.select(columns)
        for start in range(0, max(frame.height, 1), batch_rows):
            yield frame.slice(start, batch_rows)
        return
    path = Path(source)
    _check_exists(path)
    kind = _kind(path)
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            # One row group at a time and no pre-buffering: PyArrow's default
            # reader reads ahead across row groups (2.2 GB held on a 10M-row file).
            pf = pq.ParquetFile(path, pre_buffer=False)
            for group in range(pf.num_row_groups):
                for batch in pf.iter_batches(
                    batch_size=batch_rows, row_groups=[group], columns=columns
                ):
                    yield pl.DataFrame(batch)
            return
        lazy = scan(path)
        if columns is not None:
            lazy = lazy.select(columns)
        yield from lazy.collect_batches(chunk_size=batch_rows)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidInput(f"{path}: cannot be parsed: {_first_line(exc)}") from None
    except Exception as exc:
        if type(exc).__module__.startswith("pyarrow"):
            raise InvalidInput(f"{path}: cannot be parsed: {_first_line(exc)}") from None
        raise

"""Where the prediction log's files live, how they are written, listed and scanned.

Layout under the root (a folder or any fsspec URL)::

    model=<name>/version=<n>/hour=<YYYY-MM-DDTHH>/part-<time>-<id>.parquet
    _labels/model=<name>/part-<time>-<id>.parquet

A writer may put a tag after the time (``-w1`` for worker 1 of a server run
with several processes), so that each file has one writer. Only names starting ``part-`` and ending ``.parquet`` are data. A file is
written under a hidden ``.tmp-`` name and renamed when complete, so a reader
never sees half a file and a process killed mid-write leaves only a hidden
file behind. A compacted file records in its Parquet metadata the part files
it replaces; readers skip those even while they still exist, which makes
compaction atomic for readers and safe to interrupt.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

import fsspec
from fsspec.implementations.local import LocalFileSystem

from aims.clock import utc
from aims.errors import StoreUnavailable
from aims.storage.predlog.schema import FIXED_COLUMNS, HOUR_FORMAT, PARTITION_COLUMNS

if TYPE_CHECKING:
    import polars as pl

# Polars and PyArrow are imported by the functions that use them: the span
# store writes through this layout with PyArrow alone, and a server that has
# written nothing yet holds neither.

__all__ = [
    "COMPACT_TAG",
    "REPLACES_KEY",
    "Layout",
    "Partition",
    "conform",
    "describe",
    "is_data_file",
    "order_columns",
    "part_name",
    "union_schema",
]

#: Parquet metadata key of a compacted file: JSON list of the file names it replaces.
REPLACES_KEY = "aims.replaces"
COMPACT_TAG = "-compact-"


@dataclass(frozen=True)
class Partition:
    """One (version, hour) partition of a model's log and its live data files."""

    version: int
    hour: datetime
    files: tuple[str, ...]


def is_data_file(name: str) -> bool:
    return name.startswith("part-") and name.endswith(".parquet")


def part_name(tag: str = "") -> str:
    """A new data file name that sorts by creation time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"part-{stamp}{tag}-{uuid.uuid4().hex[:8]}.parquet"


def union_schema(schemas: Sequence[pl.Schema]) -> pl.Schema:
    """The schema of files ``schemas`` read together: every column, widest common type."""
    import polars as pl

    distinct = list({tuple((n, str(t)) for n, t in s.items()): s for s in schemas}.values())
    if not distinct:
        return pl.Schema()
    if len(distinct) == 1:
        return distinct[0]
    frames = [pl.DataFrame(schema=s) for s in distinct]
    return pl.concat(frames, how="diagonal_relaxed").schema


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` with exactly the columns and types of ``schema`` (missing ones null)."""
    import polars as pl

    return frame.select(
        pl.col(n).cast(t, strict=False) if n in frame.columns else pl.lit(None, t).alias(n)
        for n, t in schema.items()
    )


class Layout:
    """The files of one prediction log root.

    Data files never change once renamed into place, so their schemas are
    cached by path for the life of this object.
    """

    def __init__(self, root: str) -> None:
        self.root = str(root).rstrip("/") or "/"
        try:
            self.fs, self.base = fsspec.core.url_to_fs(self.root)
        except (ImportError, ValueError) as exc:
            raise StoreUnavailable(
                f"prediction log {self.root!r}: cannot open its filesystem ({exc}); "
                "install the fsspec driver for this URL or use a local folder"
            ) from None
        self.base = self.base.rstrip("/") or "/"
        self.local = isinstance(self.fs, LocalFileSystem)
        self._schemas: dict[str, pl.Schema] = {}
        self._replaces: dict[str, frozenset[str]] = {}
        self._cache_lock = threading.Lock()

    # -- paths ---------------------------------------------------------------

    def partition_dir(self, model: str, version: int, hour: str) -> str:
        return f"{self.base}/model={model}/version={version}/hour={hour}"

    def labels_dir(self, model: str) -> str:
        return f"{self.base}/_labels/model={model}"

    def names(self, folder: str) -> list[str]:
        """Base names in ``folder`` (none when it does not exist)."""
        try:
            return sorted(
                p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False)
            )
        except FileNotFoundError:
            return []

    def models(self) -> list[str]:
        return [n.split("=", 1)[1] for n in self.names(self.base) if n.startswith("model=")]

    # -- listing -------------------------------------------------------------

    def data_files(self, folder: str) -> tuple[str, ...]:
        """Live data files of ``folder``: part files not replaced by a compacted one."""
        names = [n for n in self.names(folder) if is_data_file(n)]
        replaced: set[str] = set()
        for n in names:
            if COMPACT_TAG in n:
                replaced |= self.replaces(f"{folder}/{n}")
        return tuple(f"{folder}/{n}" for n in names if n not in replaced)

    def partitions(
        self,
        model: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Partition]:
        """Partitions of ``model`` whose hour overlaps ``[since, until)``, oldest first."""
        lo = utc(since).replace(minute=0, second=0, microsecond=0) if since is not None else None
        hi = utc(until) if until is not None else None
        out = []
        model_dir = f"{self.base}/model={model}"
        for vname in self.names(model_dir):
            if not vname.startswith("version="):
                continue
            try:
                v = int(vname.split("=", 1)[1])
            except ValueError:
                continue  # not ours
            if version is not None and v != version:
                continue
            for hname in self.names(f"{model_dir}/{vname}"):
                if not hname.startswith("hour="):
                    continue
                try:
                    hour = utc(datetime.strptime(hname[5:], HOUR_FORMAT))
                except ValueError:
                    continue
                if (lo is not None and hour < lo) or (hi is not None and hour >= hi):
                    continue
                files = self.data_files(f"{model_dir}/{vname}/{hname}")
                if files:
                    out.append(Partition(v, hour, files))
        return sorted(out, key=lambda p: (p.hour, p.version))

    # -- metadata ------------------------------------------------------------

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        return self.fs.open(path, mode)

    def schema(self, path: str) -> pl.Schema:
        """Column names and types of data file ``path`` (read from its footer once)."""
        cached = self._schemas.get(path)
        if cached is not None:
            return cached
        import polars as pl
        import pyarrow.parquet as pq

        if self.local:
            schema = pl.Schema(pl.read_parquet_schema(path))
        else:
            with self.open(path) as f:
                schema = pl.DataFrame(pq.read_schema(f).empty_table()).schema
        with self._cache_lock:
            self._schemas[path] = schema
        return schema

    def replaces(self, path: str) -> frozenset[str]:
        """The file names compacted file ``path`` replaces."""
        cached = self._replaces.get(path)
        if cached is not None:
            return cached
        import pyarrow.parquet as pq

        with self.open(path) as f:
            meta = pq.read_metadata(f).metadata or {}
        names = frozenset(json.loads(meta.get(REPLACES_KEY.encode(), b"[]")))
        with self._cache_lock:
            self._replaces[path] = names
        return names

    # -- writing -------------------------------------------------------------

    def write_atomic(self, folder: str, write: Callable[[IO[bytes]], None], name: str) -> str:
        """Run ``write`` on a hidden file in ``folder``, then rename it to ``name``."""
        self.fs.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.tmp-{uuid.uuid4().hex}.parquet"
        try:
            with self.open(tmp, "wb") as f:
                write(f)
            self.fs.mv(tmp, f"{folder}/{name}")
        except BaseException:
            # A hidden leftover is ignored by readers and removed by compaction.
            with contextlib.suppress(OSError):
                self.fs.rm(tmp)
            raise
        return f"{folder}/{name}"

    # -- reading -------------------------------------------------------------

    def version_of(self, path: str) -> int:
        """The version in a data file's partition path."""
        for segment in path[len(self.base) :].split("/"):
            if segment.startswith("version="):
                return int(segment[8:])
        raise ValueError(f"{path} is not in a version= folder")

    def scan(self, files: Sequence[str], *, model: str | None = None) -> pl.LazyFrame:
        """One lazy frame over ``files``; files with differing columns are unified.

        Files with the same schema (and version) are scanned together, one
        Parquet scan with predicate and projection pushdown; the few groups are
        then concatenated with Polars' relaxed diagonal concat: a missing
        column is null, an int column next to a float one becomes float. With
        ``model``, the ``model`` and ``version`` columns are added from the
        paths (set here rather than parsed by the scanner, which would also
        take any ``key=value`` folder above the root for a column).
        """
        import polars as pl

        # Files group by version and by schema (column names and types).
        groups: dict[tuple[int | None, tuple[tuple[str, str], ...]], list[str]] = {}
        for path in files:
            key = tuple((n, str(t)) for n, t in self.schema(path).items())
            version = self.version_of(path) if model is not None else None
            groups.setdefault((version, key), []).append(path)
        frames = []
        for (version, _), paths in groups.items():
            lazy = self._scan_group(paths)
            if model is not None:
                lazy = lazy.with_columns(
                    pl.lit(model, pl.String).alias("model"),
                    pl.lit(version, pl.Int64).alias("version"),
                )
            frames.append(lazy)
        if len(frames) == 1:
            return frames[0]
        return pl.concat(frames, how="diagonal_relaxed")

    def _scan_group(self, paths: list[str]) -> pl.LazyFrame:
        import polars as pl

        if self.local:
            return pl.scan_parquet(paths, hive_partitioning=False, glob=False)
        import pyarrow.dataset as ds
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        filesystem = PyFileSystem(FSSpecHandler(self.fs))
        return pl.scan_pyarrow_dataset(ds.dataset(paths, filesystem=filesystem, format="parquet"))

    def iter_file(
        self, path: str, batch_rows: int, columns: Sequence[str] | None = None
    ) -> Iterator[pl.DataFrame]:
        """Data file ``path`` in batches of at most ``batch_rows``, one row group at a time."""
        import polars as pl
        import pyarrow.parquet as pq

        present = self.schema(path)
        cols = None if columns is None else [c for c in columns if c in present]
        # A local path is read by PyArrow's own file reader, much faster than
        # through a Python file object.
        with contextlib.nullcontext(path) if self.local else self.open(path) as source:
            # No pre-buffering: PyArrow otherwise reads ahead across row groups.
            pf = pq.ParquetFile(source, pre_buffer=False)
            for group in range(pf.num_row_groups):
                for batch in pf.iter_batches(
                    batch_size=batch_rows, row_groups=[group], columns=cols
                ):
                    yield pl.DataFrame(batch)


def order_columns(schema: pl.Schema) -> list[str]:
    """Fixed columns first, then ``model`` and ``version``, then the features in file order."""
    fixed = [c for c in FIXED_COLUMNS if c in schema]
    part = [c for c in ("model", "version") if c in schema]
    rest = [c for c in schema if c not in FIXED_COLUMNS and c not in PARTITION_COLUMNS]
    return fixed + part + rest


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__

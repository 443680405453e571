"""Reading the prediction log lazily, partition by partition."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import fsspec
import polars as pl

from aims.storage.predlog.schema import HOUR_FORMAT


@dataclass(frozen=True)
class Partition:
    """One (version, hour) partition of a model's log."""

    version: int
    hour: datetime
    files: tuple[str, ...]


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class PredictionLogReader:
    """Lazy access to the log under ``root`` (a folder or fsspec URL)."""

    def __init__(self, root: str) -> None:
        self.root = str(root).rstrip("/")
        self.fs, self._base = fsspec.core.url_to_fs(self.root)

    def models(self) -> list[str]:
        if not self.fs.exists(self._base):
            return []
        return sorted(
            p.rsplit("model=", 1)[1]
            for p in self.fs.ls(self._base, detail=False)
            if p.rsplit("/", 1)[-1].startswith("model=")
        )

    def partitions(
        self,
        model: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Partition]:
        """The partitions of ``model`` whose hour overlaps [since, until), oldest first."""
        base = f"{self._base}/model={model}"
        if not self.fs.exists(base):
            return []
        lo = _utc(since).replace(minute=0, second=0, microsecond=0) if since else None
        out = []
        for vdir in self.fs.ls(base, detail=False):
            name = vdir.rsplit("/", 1)[-1]
            if not name.startswith("version="):
                continue
            v = int(name.split("=", 1)[1])
            if version is not None and v != version:
                continue
            for hdir in self.fs.ls(vdir, detail=False):
                hname = hdir.rsplit("/", 1)[-1]
                if not hname.startswith("hour="):
                    continue
                hour = datetime.strptime(hname.split("=", 1)[1], HOUR_FORMAT).replace(tzinfo=UTC)
                if (lo and hour < lo) or (until and hour >= _utc(until)):
                    continue
                files = tuple(
                    sorted(
                        f
                        for f in self.fs.ls(hdir, detail=False)
                        if f.rsplit("/", 1)[-1].startswith("part-")
                    )
                )
                if files:
                    out.append(Partition(v, hour, files))
        return sorted(out, key=lambda p: (p.hour, p.version))

    def _url(self, path: str) -> str:
        proto = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        return path if proto in ("file", "local") else f"{proto}://{path}"

    def _scan_file(self, path: str, model: str, version: int) -> pl.LazyFrame:
        return pl.scan_parquet(self._url(path)).with_columns(
            pl.lit(model).alias("model"), pl.lit(version, dtype=pl.Int64).alias("version")
        )

    def scan(
        self,
        model: str,
        *,
        version: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pl.LazyFrame:
        """The log of ``model`` as a lazy frame (nothing is read until collected).

        Files whose columns differ (a feature added later) are unified; missing
        values are null.
        """
        parts = self.partitions(model, version=version, since=since, until=until)
        frames = [self._scan_file(f, model, p.version) for p in parts for f in p.files]
        if not frames:
            return pl.LazyFrame(
                schema={
                    "prediction_id": pl.String,
                    "ts": pl.Datetime("us", "UTC"),
                    "role": pl.String,
                    "model": pl.String,
                    "version": pl.Int64,
                }
            )
        lazy = pl.concat(frames, how="diagonal_relaxed")
        if role is not None:
            lazy = lazy.filter(pl.col("role") == role)
        if since is not None:
            lazy = lazy.filter(pl.col("ts") >= _utc(since))
        if until is not None:
            lazy = lazy.filter(pl.col("ts") < _utc(until))
        return lazy

    def iter_batches(
        self,
        model: str,
        *,
        version: int | None = None,
        role: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch_rows: int = 250_000,
    ) -> Iterator[pl.DataFrame]:
        """The log in batches, one file at a time: memory stays bounded by the batch."""
        from aims.core.frames import iter_batches

        for part in self.partitions(model, version=version, since=since, until=until):
            for path in part.files:
                source = path if self.fs.protocol in ("file", ("file", "local")) else None
                batches = (
                    iter_batches(source, batch_rows)
                    if source is not None
                    else [pl.read_parquet(self._url(path))]
                )
                for batch in batches:
                    batch = batch.with_columns(
                        pl.lit(model).alias("model"),
                        pl.lit(part.version, dtype=pl.Int64).alias("version"),
                    )
                    if role is not None:
                        batch = batch.filter(pl.col("role") == role)
                    if since is not None:
                        batch = batch.filter(pl.col("ts") >= _utc(since))
                    if until is not None:
                        batch = batch.filter(pl.col("ts") < _utc(until))
                    if batch.height:
                        yield batch

    def count(self, model: str, **filters: object) -> int:
        return int(self.scan(model, **filters).select(pl.len()).collect().item())  # type: ignore[arg-type]

    def compact(self, model: str, version: int, hour: datetime) -> int:
        """Merge a closed hour's part files into one (atomically); returns files merged.

        Call for hours that no writer will add to any more (e.g. two hours old).
        """
        parts = self.partitions(model, version=version, since=hour, until=hour + timedelta(hours=1))
        if not parts or len(parts[0].files) < 2:
            return 0
        files = parts[0].files
        frame = pl.concat([pl.read_parquet(self._url(f)) for f in files], how="diagonal_relaxed")
        folder = files[0].rsplit("/", 1)[0]
        import uuid

        tmp = f"{folder}/.tmp-{uuid.uuid4().hex}.parquet"
        with self.fs.open(tmp, "wb") as f:
            frame.write_parquet(f, compression="zstd")
        final = f"{folder}/part-00000000T000000000000-compact-{uuid.uuid4().hex[:8]}.parquet"
        self.fs.mv(tmp, final)
        for f in files:
            self.fs.rm(f)
        return len(files)

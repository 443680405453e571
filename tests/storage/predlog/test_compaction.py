from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from aims.errors import InvalidInput
from aims.storage.predlog import PredictionLogReader, PredictionLogWriter, compact, compact_closed
from aims.storage.predlog.compaction import _merge
from aims.storage.predlog.layout import Layout
from tests.storage.predlog.conftest import T0, append_rows

HOUR = T0.replace(minute=0)


def _write_files(root: str, n_files: int, *, ts=T0, rows: int = 3) -> None:  # type: ignore[no-untyped-def]
    with PredictionLogWriter(root, flush_interval=60) as writer:
        for k in range(n_files):
            append_rows(writer, rows, ts=ts, start=10 * k)
            writer.flush()
        # A feature that appears only in the last file.
        writer.append("m", 1, "production", [{"x": 99, "extra": "e"}], [1], ts=ts)


def _folder(root: str, hour=HOUR) -> Path:  # type: ignore[no-untyped-def]
    return Path(root) / "model=m" / "version=1" / f"hour={hour:%Y-%m-%dT%H}"


def test_compact_merges_an_hour_into_one_file_with_the_same_rows(root: str) -> None:
    _write_files(root, 3)
    reader = PredictionLogReader(root)
    before = reader.scan("m").collect().sort("prediction_id")
    assert compact(root, "m", 1, HOUR, row_group_rows=4) == 4
    files = list(_folder(root).iterdir())
    assert len(files) == 1 and "-compact-" in files[0].name
    after = PredictionLogReader(root).scan("m").collect().sort("prediction_id")
    assert after.equals(before) and after["extra"].null_count() == 9
    meta = pq.ParquetFile(files[0]).metadata
    assert (
        meta.num_rows == 10
        and max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= 4
    )
    assert compact(root, "m", 1, "2026-01-01T10") == 0  # already one file


def test_an_interrupted_compaction_neither_loses_nor_duplicates_rows(root: str) -> None:
    _write_files(root, 2)
    layout = Layout(root)
    folder = layout.partition_dir("m", 1, "2026-01-01T10")
    # Merge, then "crash" before the merged part files are deleted.
    _merge(layout, folder, layout.data_files(folder), 1000)
    assert len(list(_folder(root).iterdir())) == 4
    assert PredictionLogReader(root).count("m") == 7
    compact(root, "m", 1, HOUR)  # the next run deletes the leftovers
    assert len(list(_folder(root).iterdir())) == 1 and PredictionLogReader(root).count("m") == 7


def test_compacting_again_merges_new_files_into_the_compacted_one(root: str) -> None:
    _write_files(root, 2)
    compact(root, "m", 1, HOUR)
    _write_files(root, 1)
    assert compact(root, "m", 1, HOUR) == 3  # the compacted file and two new ones
    assert PredictionLogReader(root).count("m") == 11 and len(list(_folder(root).iterdir())) == 1


def test_hidden_leftovers_go_only_once_the_hour_is_long_over(root: str) -> None:
    _write_files(root, 2)
    leftover = _folder(root) / ".tmp-0000.parquet"
    leftover.write_bytes(b"half")
    compact(root, "m", 1, HOUR, now=HOUR + timedelta(minutes=90))
    assert leftover.exists()
    compact(root, "m", 1, HOUR, now=HOUR + timedelta(hours=2))
    assert not leftover.exists()


def test_compact_closed_leaves_recent_hours_alone(root: str) -> None:
    old, recent = T0 - timedelta(hours=5), T0
    _write_files(root, 2, ts=old)
    _write_files(root, 2, ts=recent)
    result = compact_closed(root, now=T0 + timedelta(minutes=20))
    assert (result.partitions, result.files_merged, result.files_removed) == (1, 3, 3)
    assert len(list(_folder(root, old.replace(minute=0)).iterdir())) == 1
    assert len(list(_folder(root, HOUR).iterdir())) == 3
    assert PredictionLogReader(root).count("m") == 14


def test_a_malformed_hour_is_refused(root: str) -> None:
    with pytest.raises(InvalidInput, match="YYYY-MM-DDTHH"):
        compact(root, "m", 1, "yesterday")


def test_compacted_log_streams_the_same_rows(root: str) -> None:
    _write_files(root, 3, rows=50)
    reader = PredictionLogReader(root)
    before = pl.concat(reader.iter_batches("m", batch_rows=7)).sort("prediction_id")
    compact(root, "m", 1, HOUR, row_group_rows=16)
    after = pl.concat(PredictionLogReader(root).iter_batches("m", batch_rows=7)).sort(
        "prediction_id"
    )
    assert after.equals(before) and after.height == 151


def test_compaction_on_an_fsspec_url() -> None:
    import uuid

    url = f"memory://predlog-{uuid.uuid4().hex}"
    _write_files(url, 2)
    before = sorted(PredictionLogReader(url).scan("m").collect()["prediction_id"])
    assert compact(url, "m", 1, HOUR) == 3
    reader = PredictionLogReader(url)
    assert len(reader.partitions("m")[0].files) == 1
    assert sorted(reader.scan("m").collect()["prediction_id"]) == before

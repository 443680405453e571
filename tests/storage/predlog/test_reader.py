from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from aims.errors import InvalidInput
from aims.storage.predlog import FIXED_COLUMNS, PredictionLogReader, PredictionLogWriter
from tests.storage.predlog.conftest import T0, append_rows


@pytest.fixture
def log(root: str) -> str:
    """Three versions/roles over three hours, several files per partition."""
    with PredictionLogWriter(root, flush_interval=60) as writer:
        for h in range(3):
            for k in range(2):
                ts = T0 + timedelta(hours=h, minutes=10 * k)
                append_rows(writer, 5, ts=ts, start=100 * h + 10 * k)
                append_rows(writer, 2, ts=ts, version=2, role="canary", start=100 * h + 10 * k)
                writer.flush()
    return root


def test_partitions_list_versions_and_hours(log: str) -> None:
    reader = PredictionLogReader(log)
    parts = reader.partitions("m")
    assert [(p.version, p.hour.hour, len(p.files)) for p in parts] == [
        (v, h, 2) for h in (10, 11, 12) for v in (1, 2)
    ]
    assert [
        p.hour.hour for p in reader.partitions("m", version=2, since=T0 + timedelta(hours=1))
    ] == [
        11,
        12,
    ]
    assert reader.models() == ["m"] and reader.partitions("nobody") == []


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"version": 1},
        {"role": "canary"},
        {"since": T0 + timedelta(minutes=5)},
        {"until": T0 + timedelta(hours=1, minutes=5)},
        {"since": T0 + timedelta(minutes=35), "until": T0 + timedelta(hours=2), "version": 2},
    ],
)
def test_filters_match_filtering_the_whole_log(log: str, filters: dict[str, object]) -> None:
    reader = PredictionLogReader(log)
    everything = reader.scan("m").collect()
    expected = everything
    if "version" in filters:
        expected = expected.filter(pl.col("version") == filters["version"])
    if "role" in filters:
        expected = expected.filter(pl.col("role") == filters["role"])
    if "since" in filters:
        expected = expected.filter(pl.col("ts") >= filters["since"])
    if "until" in filters:
        expected = expected.filter(pl.col("ts") < filters["until"])
    got = reader.scan("m", **filters).collect()  # type: ignore[arg-type]
    assert sorted(got["prediction_id"]) == sorted(expected["prediction_id"])
    assert reader.count("m", **filters) == expected.height  # type: ignore[arg-type]
    streamed = pl.concat(reader.iter_batches("m", batch_rows=4, **filters))  # type: ignore[arg-type]
    assert sorted(streamed["prediction_id"]) == sorted(expected["prediction_id"])
    assert everything.height == 42


def test_columns_are_fixed_then_partition_then_features(log: str) -> None:
    frame = PredictionLogReader(log).scan("m").collect()
    assert frame.columns == [*FIXED_COLUMNS, "model", "version", "x", "city"]
    assert frame.schema["version"] == pl.Int64 and set(frame["model"]) == {"m"}


def test_batches_are_bounded_and_all_have_the_same_schema(log: str) -> None:
    reader = PredictionLogReader(log)
    batches = list(reader.iter_batches("m", batch_rows=4))
    assert [b.height for b in batches] == [4] * 10 + [2]
    assert all(b.schema == reader.schema("m") for b in batches)
    whole = reader.scan("m").collect().sort("prediction_id")
    assert pl.concat(batches).sort("prediction_id").equals(whole)


def test_batches_of_chosen_columns(log: str) -> None:
    reader = PredictionLogReader(log)
    batches = list(reader.iter_batches("m", columns=["x", "score"], role="canary", batch_rows=100))
    assert [b.columns for b in batches] == [["x", "score"]] and batches[0].height == 12
    with pytest.raises(InvalidInput, match="no column 'nope'"):
        next(reader.iter_batches("m", columns=["nope"]))


def test_schema_changes_between_files_are_unified(root: str) -> None:
    with PredictionLogWriter(root, flush_interval=60) as writer:
        writer.append("m", 1, "production", [{"a": 1, "b": 1}], [0], ts=T0)
        writer.flush()
        writer.append("m", 1, "production", [{"a": 2.5, "c": "new"}], [1], ts=T0)
        writer.flush()
        writer.append("m", 1, "production", [{"a": None, "b": "text"}], [1], ts=T0)
    reader = PredictionLogReader(root)
    frame = reader.scan("m").collect().sort("ts", "prediction_id")
    assert frame.schema["a"] == pl.Float64 and frame.schema["b"] == pl.String
    assert sorted(frame["a"].to_list(), key=str) == sorted([1.0, 2.5, None], key=str)
    assert sorted(frame["c"].to_list(), key=str) == sorted([None, None, "new"], key=str)
    streamed = pl.concat(reader.iter_batches("m", batch_rows=1))
    assert streamed.schema == frame.schema and streamed.height == 3


def test_hidden_and_foreign_files_are_ignored(log: str) -> None:
    partition = next(Path(log).rglob("hour=*"))
    (partition / ".tmp-1234.parquet").write_bytes(b"half a file")
    (partition / "notes.txt").write_text("not data")
    (Path(log) / "model=m" / "version=x").mkdir()
    assert PredictionLogReader(log).count("m") == 42


def test_an_empty_log_reads_as_no_rows(root: str) -> None:
    reader = PredictionLogReader(root)
    assert reader.count("m") == 0 and list(reader.iter_batches("m")) == []
    assert reader.scan("m").collect().columns == [*FIXED_COLUMNS, "model", "version"]


def test_unknown_role_is_refused(log: str) -> None:
    with pytest.raises(InvalidInput, match="role is one of"):
        PredictionLogReader(log).scan("m", role="primary")


def test_a_log_on_an_fsspec_url(tmp_path: Path) -> None:
    url = f"memory://predlog-{uuid.uuid4().hex}"
    with PredictionLogWriter(url, flush_interval=60) as writer:
        ids = append_rows(writer, 5, ts=T0)
        writer.flush()
        ids += writer.append("m", 2, "shadow", [{"x": 1.0, "new": "n"}], [1], ts=T0)
    reader = PredictionLogReader(url)
    frame = reader.scan("m").collect()
    assert sorted(frame["prediction_id"]) == sorted(ids) and "new" in frame.columns
    assert reader.count("m", version=2) == 1
    assert sum(b.height for b in reader.iter_batches("m", batch_rows=2)) == 6


def test_a_root_below_a_key_value_folder(tmp_path: Path) -> None:
    root = str(tmp_path / "env=prod" / "log")
    with PredictionLogWriter(root, flush_interval=60) as writer:
        append_rows(writer, 2, ts=T0)
        append_rows(writer, 1, ts=T0, version=3)
    frame = PredictionLogReader(root).scan("m").collect()
    assert "env" not in frame.columns and sorted(frame["version"]) == [1, 1, 3]

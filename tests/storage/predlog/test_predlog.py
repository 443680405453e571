from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from aims.errors import InvalidInput
from aims.storage.predlog import LabelStore, PredictionLogReader, PredictionLogWriter, apply_pii


def _append(
    writer: PredictionLogWriter,
    n: int,
    *,
    version: int = 1,
    role: str = "production",
    ts: datetime | None = None,
    keys=None,
) -> list[str]:
    inputs = [{"x": float(i), "city": f"c{i % 3}"} for i in range(n)]
    return writer.append(
        "m",
        version,
        role,
        inputs,
        [i % 2 for i in range(n)],
        scores=[0.1 * (i % 10) for i in range(n)],
        proba=[[0.4, 0.6]] * n,
        latency_ms=1.5,
        keys=keys,
        ts=ts,
    )


def test_clean_close_keeps_exactly_the_acknowledged_rows(tmp_path: Path) -> None:
    writer = PredictionLogWriter(str(tmp_path), flush_interval=0.05)
    ids = [pid for _ in range(20) for pid in _append(writer, 7)]
    writer.close()
    log = PredictionLogReader(str(tmp_path)).scan("m").collect()
    assert sorted(log["prediction_id"]) == sorted(ids) and log.height == 140
    assert set(log.columns) >= {
        "x",
        "city",
        "prediction",
        "score",
        "proba",
        "ts",
        "role",
        "version",
    }
    assert log["prediction"].to_list().count("1") == 60


def test_partitions_by_version_and_hour_and_filters(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    with PredictionLogWriter(str(tmp_path), flush_interval=10) as writer:
        _append(writer, 5, ts=t0)
        _append(writer, 4, ts=t0 + timedelta(hours=1))
        _append(writer, 3, version=2, role="canary", ts=t0 + timedelta(hours=1))
    reader = PredictionLogReader(str(tmp_path))
    parts = reader.partitions("m")
    assert [(p.version, p.hour.hour) for p in parts] == [(1, 10), (1, 11), (2, 11)]
    assert reader.count("m", version=1) == 9
    assert reader.count("m", role="canary") == 3
    assert reader.count("m", since=t0 + timedelta(minutes=45)) == 7
    assert sum(b.height for b in reader.iter_batches("m", batch_rows=2)) == 12


def test_schema_changes_between_files_are_unified(tmp_path: Path) -> None:
    with PredictionLogWriter(str(tmp_path), flush_interval=10) as writer:
        writer.append("m", 1, "production", [{"a": 1}], [0])
        writer.flush()
        writer.append("m", 1, "production", [{"a": 2, "b": "new"}], [1])
    log = PredictionLogReader(str(tmp_path)).scan("m").collect().sort("a")
    assert log["b"].to_list() == [None, "new"]


def test_labels_attach_by_id_and_key_latest_wins(tmp_path: Path) -> None:
    with PredictionLogWriter(str(tmp_path), flush_interval=10) as writer:
        ids = _append(writer, 4, keys=["k0", "k1", "k2", "k3"])
    store = LabelStore(str(tmp_path))
    out = store.ingest(
        "m", pl.DataFrame({"prediction_id": [ids[0], ids[1], "nope"], "label": [1, 0, 1]})
    )
    assert (out["matched"], out["unknown"], out["unknown_examples"]) == (2, 1, ["nope"])
    store.ingest("m", pl.DataFrame({"prediction_id": [ids[0]], "label": [0]}))
    store.ingest("m", pl.DataFrame({"key": ["k3"], "label": [1]}), by="key")
    joined = store.scan_labelled("m").collect().sort("key")
    assert joined["label"].to_list() == ["0", "0", None, "1"]
    with pytest.raises(InvalidInput, match="lacks column"):
        store.ingest("m", pl.DataFrame({"id": [1]}))


def test_pii_is_hashed_or_dropped_before_logging() -> None:
    rows = apply_pii(
        [{"email": "a@x.org", "ssn": "1", "x": 3}], {"email": "hash", "ssn": "drop"}, "s"
    )
    assert (
        set(rows[0]) == {"email", "x"}
        and rows[0]["email"] != "a@x.org"
        and len(rows[0]["email"]) == 32
    )


def test_compact_merges_an_hour(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 1, 10, tzinfo=UTC)
    with PredictionLogWriter(str(tmp_path), flush_interval=10) as writer:
        for _ in range(3):
            _append(writer, 2, ts=t0)
            writer.flush()
    reader = PredictionLogReader(str(tmp_path))
    assert reader.compact("m", 1, t0) == 3
    assert len(reader.partitions("m")[0].files) == 1 and reader.count("m") == 6


CHILD = r"""
import sys, time
from aims.storage.predlog import PredictionLogWriter
w = PredictionLogWriter(sys.argv[1], flush_interval=float(sys.argv[2]))
i = 0
while True:
    ids = w.append("m", 1, "production", [{"x": float(i)}], [i % 2])
    print(f"{time.time():.6f} {ids[0]}", flush=True)
    i += 1
    time.sleep(0.002)
"""


@pytest.mark.slow
def test_kill_9_loses_at_most_the_flush_window(tmp_path: Path) -> None:
    flush = 0.5
    acked: list[tuple[float, str]] = []
    out_file = tmp_path / "acked.txt"
    with out_file.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "log"), str(flush)], stdout=sink
        )
        time.sleep(3.0)
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait()
    for line in out_file.read_text().splitlines():
        t, pid = line.split()
        acked.append((float(t), pid))
    logged = set(PredictionLogReader(str(tmp_path / "log")).scan("m").collect()["prediction_id"])
    margin = flush + 0.5  # one flush window plus scheduling slack
    old_enough = {pid for t, pid in acked if t < killed_at - margin}
    assert len(old_enough) > 300
    assert old_enough <= logged, f"{len(old_enough - logged)} acknowledged predictions lost"
    assert logged <= {pid for _, pid in acked}

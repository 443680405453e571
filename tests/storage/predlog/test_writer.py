from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from aims.errors import ConfigError, InvalidInput, StoreUnavailable
from aims.storage.predlog import PredictionLogReader, PredictionLogWriter, hash_value, new_id
from tests.storage.predlog.conftest import T0, append_rows


def _files(root: str) -> list[Path]:
    return sorted(Path(root).rglob("*.parquet")) if Path(root).exists() else []


def test_clean_close_keeps_exactly_the_acknowledged_rows_from_many_threads(root: str) -> None:
    writer = PredictionLogWriter(root, flush_interval=0.02, max_batch_rows=50)
    acked: list[list[str]] = [[] for _ in range(4)]

    def work(k: int) -> None:
        for i in range(300):
            acked[k] += append_rows(writer, 1 + i % 3, start=i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    ids = [pid for ids in acked for pid in ids]
    logged = PredictionLogReader(root).scan("m").collect()["prediction_id"].to_list()
    assert len(logged) == len(ids) == 4 * 600
    assert sorted(logged) == sorted(ids)
    assert writer.stats.rows_written == len(ids) and writer.stats.queued_rows == 0


def test_append_only_queues_and_the_background_thread_writes(root: str) -> None:
    with PredictionLogWriter(root, flush_interval=0.2) as writer:
        append_rows(writer, 3)
        assert _files(root) == []  # nothing on disk on the request path
        deadline = time.monotonic() + 10
        while not _files(root) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(_files(root)) == 1  # written by the background thread, no flush() called
        assert writer.stats.queued_rows == 0


def test_rows_go_to_the_hour_of_their_timestamp(root: str) -> None:
    with PredictionLogWriter(root, flush_interval=60) as writer:
        append_rows(writer, 2, ts=T0.replace(minute=59, second=59))
        append_rows(writer, 3, ts=T0.replace(hour=11, minute=0))
        append_rows(writer, 1, ts=T0, version=2, role="shadow")
    names = [str(p.relative_to(root)) for p in _files(root)]
    assert [n.rsplit("/", 1)[0] for n in names] == [
        "model=m/version=1/hour=2026-01-01T10",
        "model=m/version=1/hour=2026-01-01T11",
        "model=m/version=2/hour=2026-01-01T10",
    ]
    assert all(n.rsplit("/", 1)[1].startswith("part-") for n in names)
    first = pl.read_parquet(_files(root)[0])
    assert first.schema["ts"] == pl.Datetime("us", "UTC") and first["prediction"].to_list() == [
        "0",
        "1",
    ]
    assert first["proba"].to_list() == [[0.4, 0.6], [0.4, 0.6]]


def test_dict_and_frame_inputs_and_clashing_names_are_logged(root: str) -> None:
    with PredictionLogWriter(root, flush_interval=60) as writer:
        writer.append("m", 1, "production", [{"x": 1, "score": 5}], ["a"], scores=[0.9])
        writer.append("m", 1, "production", pl.DataFrame({"x": [2.5], "y": ["new"]}), ["b"])
    log = PredictionLogReader(root).scan("m").collect().sort("prediction")
    assert log["x"].to_list() == [1.0, 2.5] and log["y"].to_list() == [None, "new"]
    assert log["input_score"].to_list() == [5, None] and log["score"].to_list() == [0.9, None]


def test_personal_data_is_hashed_or_dropped_per_model(root: str) -> None:
    pii = {"m": {"email": "hash", "ssn": "drop"}}
    with PredictionLogWriter(root, flush_interval=60, pii=pii, salt="pepper") as writer:
        row = {"email": "a@x.org", "ssn": "123", "x": 1}
        writer.append("m", 1, "production", [row], [0])
        writer.append("m", 1, "production", pl.DataFrame([row]), [0])
        writer.append("other", 1, "production", [row], [0])
    reader = PredictionLogReader(root)
    logged = reader.scan("m").collect()
    assert "ssn" not in logged.columns
    assert logged["email"].to_list() == [hash_value("a@x.org", "pepper")] * 2
    assert reader.scan("other").collect()["ssn"].to_list() == ["123"]


def test_hashing_without_a_salt_is_a_config_error(root: str) -> None:
    with pytest.raises(ConfigError, match="no salt"):
        PredictionLogWriter(root, pii={"m": {"email": "hash"}})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"predictions": [1, 2]}, "1 input rows but 2 predictions"),
        ({"scores": [0.1, 0.2]}, "2 scores for 1 predictions"),
        ({"role": "primary"}, "role is one of production, canary, shadow"),
        ({"model": "a/b"}, "model name 'a/b' is not valid"),
    ],
)
def test_malformed_appends_are_refused(root: str, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "model": "m",
        "version": 1,
        "role": "production",
        "inputs": [{"x": 1}],
        "predictions": [1],
    }
    with (
        PredictionLogWriter(root, flush_interval=60) as writer,
        pytest.raises(InvalidInput, match=message),
    ):
        writer.append(**(args | kwargs))  # type: ignore[arg-type]
    assert _files(root) == []


def test_a_closed_writer_refuses_appends_and_close_is_idempotent(root: str) -> None:
    writer = PredictionLogWriter(root)
    writer.close()
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        append_rows(writer, 1)


def test_unwritable_storage_keeps_rows_queued_until_it_recovers(tmp_path: Path) -> None:
    blocker = tmp_path / "log"
    blocker.write_text("a file where the log folder should be")
    # No early flush (8 rows stay under max_batch_rows): only the flush below may fail.
    writer = PredictionLogWriter(
        str(blocker), flush_interval=60, max_batch_rows=10, max_queue_rows=10
    )
    ids = append_rows(writer, 4) + append_rows(writer, 4, start=4)
    with pytest.raises(StoreUnavailable, match="stay queued"):
        writer.flush()
    assert writer.stats.queued_rows == 8 and writer.stats.flush_errors == 1
    with pytest.raises(StoreUnavailable, match="queue is full"):
        append_rows(writer, 3)  # 11 > max_queue_rows: refused, not silently dropped
    blocker.unlink()
    writer.close()
    logged = PredictionLogReader(str(blocker)).scan("m").collect()["prediction_id"].to_list()
    assert sorted(logged) == sorted(ids)


def test_bad_settings_are_refused(root: str) -> None:
    with pytest.raises(ConfigError, match="flush_interval"):
        PredictionLogWriter(root, flush_interval=0)
    with pytest.raises(ConfigError, match="max_batch_rows"):
        PredictionLogWriter(root, max_batch_rows=10, max_queue_rows=5)


def test_ids_are_unique_and_sort_by_time() -> None:
    first = new_id()
    time.sleep(0.002)
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids) and all(first < i for i in ids)


CHILD = r"""
import sys, time
from aims.storage.predlog import PredictionLogWriter
w = PredictionLogWriter(sys.argv[1], flush_interval=float(sys.argv[2]))
stop = float(sys.argv[3])
i = 0
while stop <= 0 or i < stop:
    ids = w.append("m", 1, "production", [{"x": float(i)}], [i % 2])
    print(f"{time.time():.6f} {ids[0]}", flush=True)
    i += 1
    time.sleep(0.001)
"""


def _child(log: Path, out: Path, flush: float, stop: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[3])}
    with out.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, str(log), str(flush), str(stop)], stdout=sink, env=env
        )


def _acked(out: Path) -> list[tuple[float, str]]:
    lines = out.read_text().splitlines()
    return [(float(t), pid) for t, pid in (line.split() for line in lines if line.count(" ") == 1)]


def test_kill_9_loses_at_most_the_flush_window(tmp_path: Path) -> None:
    flush = 0.5
    log, out = tmp_path / "log", tmp_path / "acked.txt"
    margin = flush + 0.5  # one flush window plus scheduling slack
    proc = _child(log, out, flush, 0)
    # Wait for enough acknowledgements rather than a fixed time, so a slow machine still
    # has predictions older than the flush window when the kill lands.
    deadline = time.time() + 60
    while len(_acked(out)) < 350 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(margin + 0.5)
    proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    proc.wait()
    # A hidden half-written file (as a kill during a write leaves) must not disturb readers.
    partition = next(p for p in log.rglob("hour=*"))
    (partition / ".tmp-deadbeef.parquet").write_bytes(b"PAR1 truncated")
    acked = _acked(out)
    logged = PredictionLogReader(str(log)).scan("m").collect()["prediction_id"].to_list()
    old_enough = {pid for t, pid in acked if t < killed_at - margin}
    assert len(old_enough) > 300
    assert old_enough <= set(logged), (
        f"{len(old_enough - set(logged))} acknowledged predictions lost"
    )
    assert set(logged) <= {pid for _, pid in acked} and len(logged) == len(set(logged))


def test_interpreter_exit_flushes_everything(tmp_path: Path) -> None:
    log, out = tmp_path / "log", tmp_path / "acked.txt"
    proc = _child(log, out, 60.0, 500)  # exits without close(): the exit hook must flush
    assert proc.wait(timeout=60) == 0
    acked = [pid for _, pid in _acked(out)]
    logged = PredictionLogReader(str(log)).scan("m").collect()["prediction_id"].to_list()
    assert len(acked) == 500 and sorted(logged) == sorted(acked)


def test_rows_written_after_a_long_wait_keep_their_own_hour(root: str) -> None:
    with PredictionLogWriter(root, flush_interval=60) as writer:
        append_rows(writer, 1, ts=T0 - timedelta(days=3))
    assert [p.hour for p in PredictionLogReader(root).partitions("m")] == [
        (T0 - timedelta(days=3)).replace(minute=0)
    ]


def test_a_request_that_cannot_be_stored_does_not_take_others_with_it(root: str) -> None:
    with PredictionLogWriter(root, flush_interval=60) as writer:
        good = append_rows(writer, 2, ts=T0)
        # A record the log cannot store is refused when queued, never acknowledged.
        with pytest.raises(InvalidInput, match="not an object"):
            writer.append("m", 1, "production", [["not", "a", "mapping"]], [1], ts=T0)  # type: ignore[list-item]
        good += append_rows(writer, 1, ts=T0, start=5)
        writer.append("m", 1, "production", [{"x": 1.0}], [1], proba=[["a", "b"]], ts=T0)
    logged = PredictionLogReader(root).scan("m").collect()
    assert writer.stats.rows_dropped == 0 and logged.height == 4
    assert set(good) <= set(logged["prediction_id"])
    assert logged.filter(pl.col("proba").is_null()).height == 1  # unusable proba: row kept


def test_batch_columns_equal_a_plain_conversion_of_the_queued_values() -> None:
    # The flush builds its columns by fast paths (timestamps as integers,
    # probabilities as one matrix); a plain Polars conversion of the same
    # values is the reference, over mixed widths, missing values and zones.
    from datetime import UTC, datetime, timezone

    from aims.storage.predlog.batch import QueuedRequest, build_frame
    from aims.storage.predlog.schema import FIXED_SCHEMA, as_text

    plus2 = timezone(timedelta(hours=2))
    cases = [
        [([0.25, 0.75], 0.75, "k1"), ([0.5, 0.5], 0.5, None)],  # one width
        [([0.2, 0.3, 0.5], 0.5, 7), ([0.9, 0.1], 0.1, "x")],  # two widths
        [(None, None, None), ([0.4, 0.6], 0.6, "y")],  # a row without probabilities
    ]
    for rows in cases:
        chunks = [
            QueuedRequest(
                "m",
                1,
                "production",
                datetime(2026, 3, 1, 12, 30, 15, 123456 + i, tzinfo=UTC if i else plus2),
                f"r{i}",
                1.5 * i,
                [{"a": float(i), "b": "t"}],
                [i],
                [score],
                [proba],
                [f"p{i}"],
                [key],
                ["a:range"] if i else None,
            )
            for i, (proba, score, key) in enumerate(rows)
        ]
        reference = pl.DataFrame(
            {
                "prediction_id": [c.prediction_ids[0] for c in chunks],
                "request_id": [c.request_id for c in chunks],
                "role": [c.role for c in chunks],
                "ts": [c.ts for c in chunks],
                "latency_ms": [c.latency_ms for c in chunks],
                "prediction": [as_text(c.predictions[0]) for c in chunks],
                "score": [c.scores[0] for c in chunks],
                "proba": [c.proba[0] for c in chunks],
                "key": [as_text(c.keys[0]) for c in chunks],
                "contract_warnings": [
                    c.contract_warnings[0] if c.contract_warnings else None for c in chunks
                ],
            },
            schema=FIXED_SCHEMA,
            strict=False,
        )
        built = build_frame(chunks)
        assert built.select(list(FIXED_SCHEMA)).equals(reference)
        assert built["a"].to_list() == [float(i) for i in range(len(rows))]

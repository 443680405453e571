from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from aims.errors import InvalidInput
from aims.storage.predlog import LabelStore, PredictionLogReader, PredictionLogWriter
from tests.storage.predlog.conftest import T0, append_rows


@pytest.fixture
def ids(root: str) -> list[str]:
    with PredictionLogWriter(root, flush_interval=60) as writer:
        return append_rows(writer, 4, ts=T0, keys=["k0", "k1", "k2", "k2"])


def test_labels_by_id_report_unknown_ids(root: str, ids: list[str]) -> None:
    store = LabelStore(root)
    out = store.ingest(
        "m", pl.DataFrame({"prediction_id": [ids[0], ids[1], "nope", None], "label": [1, 0, 1, 1]})
    )
    assert (out.received, out.matched, out.stored, out.unknown, out.skipped) == (3, 2, 2, 1, 1)
    assert out.unknown_examples == ["nope"]
    assert store.scan("m").collect().height == 2  # the unknown label was not stored
    kept = store.ingest(
        "m", pl.DataFrame({"prediction_id": ["later"], "label": [1]}), keep_unknown=True
    )
    assert (kept.unknown, kept.stored) == (1, 1)


def test_latest_label_wins_and_the_log_is_not_duplicated(root: str, ids: list[str]) -> None:
    store = LabelStore(root)
    first = pl.DataFrame({"prediction_id": [ids[0], ids[0]], "label": ["1", "0"]})
    out = store.ingest("m", first, now=T0 + timedelta(days=1))
    assert (out.duplicates, out.stored) == (1, 1)  # within a batch the last row wins
    store.ingest(
        "m", pl.DataFrame({"prediction_id": [ids[0]], "label": [1]}), now=T0 + timedelta(days=3)
    )
    store.ingest(
        "m", pl.DataFrame({"prediction_id": [ids[0]], "label": [0]}), now=T0 + timedelta(days=2)
    )
    joined = store.scan_labelled("m").collect()
    assert joined.height == 4 and sorted(joined["prediction_id"]) == sorted(ids)
    row = joined.filter(pl.col("prediction_id") == ids[0])
    assert row["label"].item() == "1" and row["labelled_at"].item() == T0 + timedelta(days=3)


def test_labels_by_key_apply_to_every_prediction_with_it(root: str, ids: list[str]) -> None:
    store = LabelStore(root)
    out = store.ingest(
        "m",
        pl.DataFrame({"customer": ["k2", "k9"], "churned": [True, False]}),
        by="key",
        column="customer",
        label="churned",
    )
    assert (out.matched, out.unknown_examples) == (1, ["k9"])
    store.ingest("m", pl.DataFrame({"prediction_id": [ids[3]], "label": [False]}))
    joined = store.scan_labelled("m").collect()
    by_id = dict(zip(joined["prediction_id"], joined["label"], strict=True))
    # k2 labels predictions 2 and 3; prediction 3's own label by id beats the key's.
    assert [by_id[i] for i in ids] == [None, None, "true", "false"]
    assert store.scan_labelled("m", labelled_only=True).collect().height == 2


def test_numeric_labels_match_predictions_written_differently(root: str) -> None:
    with PredictionLogWriter(root, flush_interval=60) as writer:
        ids = writer.append("m", 1, "production", [{"x": 1}] * 3, [1, 0, 2.5])
    store = LabelStore(root)
    store.ingest("m", pl.DataFrame({"prediction_id": ids, "label": [1.0, 1.0, 2.5]}))
    joined = store.scan_labelled("m").collect().sort("prediction")
    assert (joined["prediction"] == joined["label"]).to_list() == [False, True, True]
    assert joined["label_value"].to_list() == [1.0, 1.0, 2.5]


def test_text_labels_have_no_numeric_value(root: str, ids: list[str]) -> None:
    store = LabelStore(root)
    store.ingest("m", pl.DataFrame({"prediction_id": ids[:2], "label": ["yes", " 3 "]}))
    got = store.scan("m").collect().sort("label")
    assert got["label_value"].to_list() == [3.0, None]


def test_ingest_takes_a_polars_table_only(root: str, ids: list[str], tmp_path: Path) -> None:
    # Reading files is the service's job (through aims.core.frames); storage takes tables.
    path = tmp_path / "labels.csv"
    pl.DataFrame({"prediction_id": ids, "label": [0, 1, 0, 1]}).write_csv(path)
    with pytest.raises(TypeError, match="polars DataFrame"):
        LabelStore(root).ingest("m", str(path))  # type: ignore[arg-type]
    assert LabelStore(root).ingest("m", pl.read_csv(path)).matched == 4


def test_overwritten_labels_stay_in_the_history_with_who_sent_them(
    root: str, ids: list[str]
) -> None:
    store = LabelStore(root)
    first = store.ingest(
        "m",
        pl.DataFrame({"prediction_id": [ids[0], ids[1]], "label": [1, 1]}),
        now=T0 + timedelta(days=1),
        labelled_by="ana",
        source="cli",
    )
    second = store.ingest(
        "m",
        pl.DataFrame({"prediction_id": [ids[0]], "label": [0]}),
        now=T0 + timedelta(days=2),
        labelled_by="apikey:k1",
        source="api",
    )
    assert first.batch and second.batch and first.batch != second.batch
    history = store.history("m", "prediction_id", [ids[0]])
    assert history.select("label", "labelled_by", "source", "batch").rows() == [
        ("1", "ana", "cli", first.batch),
        ("0", "apikey:k1", "api", second.batch),
    ]
    # Monitoring sees the latest; the history keeps both.
    joined = store.scan_labelled("m").collect()
    assert joined.filter(pl.col("prediction_id") == ids[0])["label"].item() == "0"
    assert store.scan("m").collect().height == 3


def test_label_files_without_attribution_columns_read_them_as_null(
    root: str, ids: list[str]
) -> None:
    store = LabelStore(root)
    old = pl.DataFrame(
        {
            "prediction_id": [ids[0]],
            "key": pl.Series([None], dtype=pl.String),
            "label": ["1"],
            "label_value": [1.0],
            "labelled_at": pl.Series([T0], dtype=pl.Datetime("us", "UTC")),
        }
    )
    folder = Path(store.layout.labels_dir("m"))
    folder.mkdir(parents=True)
    old.write_parquet(folder / "part-old.parquet")
    got = store.history("m", "prediction_id", [ids[0]])
    assert got.select("label", "labelled_by", "batch").rows() == [("1", None, None)]


def test_only_recent_predictions_are_searched_with_since(root: str, ids: list[str]) -> None:
    store = LabelStore(root)
    frame = pl.DataFrame({"prediction_id": ids[:1], "label": [1]})
    assert store.ingest("m", frame, since=T0 + timedelta(hours=2)).unknown == 1
    assert store.ingest("m", frame, since=T0 - timedelta(hours=2)).matched == 1


def test_malformed_label_data_is_refused(root: str, ids: list[str]) -> None:
    store = LabelStore(root)
    with pytest.raises(InvalidInput, match="lacks column 'prediction_id'"):
        store.ingest("m", pl.DataFrame({"id": [1], "label": [1]}))
    with pytest.raises(InvalidInput, match="no labels to ingest"):
        store.ingest("m", pl.DataFrame({"prediction_id": [ids[0]], "label": [None]}))
    with pytest.raises(InvalidInput, match="by 'prediction_id' or 'key'"):
        store.ingest("m", pl.DataFrame({"prediction_id": [ids[0]], "label": [1]}), by="id")  # type: ignore[arg-type]


def test_labels_on_an_fsspec_url() -> None:
    url = f"memory://predlog-{uuid.uuid4().hex}"
    with PredictionLogWriter(url, flush_interval=60) as writer:
        ids = append_rows(writer, 3, ts=T0)
    store = LabelStore(url)
    assert store.ingest("m", pl.DataFrame({"prediction_id": ids[:2], "label": [1, 0]})).matched == 2
    assert store.scan_labelled("m", labelled_only=True).collect().height == 2
    assert PredictionLogReader(url).count("m") == 3

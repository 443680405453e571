"""Labels attributed, audited, kept as history, bounded; matches shown only to log readers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from aims.errors import InvalidInput
from aims.services import audit, labelling, registry
from aims.storage.predlog import LabelStore, PredictionLogWriter, hash_value

SALT = "test-salt"


@pytest.fixture
def keyed(workspace, cancer_files, cancer_frame, tmp_path: Path):
    """A model whose contract hashes its business key, and four logged predictions."""
    from aims.core.contract import infer_contract, write_contract

    ws = workspace
    data = tmp_path / "keyed.parquet"
    cancer_frame.with_columns(
        pl.format("patient-{}", pl.int_range(pl.len())).alias("patient_id")
    ).write_parquet(data)
    features = [c for c in cancer_frame.columns if c != "target"]
    contract = infer_contract(data, name="keyed").restrict(["patient_id", *features])
    key = contract.column("patient_id")
    key.primary_key, key.pii = True, "hash"
    key.pattern = key.min_length = key.max_length = None
    key.allowed_values = None
    write_contract(contract, tmp_path / "keyed.odcs.yaml")
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws,
        cancer_files["model"],
        "keyed",
        actor="ana@x.org",
        datasets=["cancer@1"],
        contract_path=tmp_path / "keyed.odcs.yaml",
    )
    keys = [hash_value(f"patient-{i}", SALT) for i in range(4)]
    with PredictionLogWriter(ws.settings.prediction_log_url, flush_interval=60) as writer:
        ids = writer.append(
            "keyed", 1, "production", [{"x": i} for i in range(4)], [1, 0, 1, 0], keys=keys
        )
    return ws, ids


def _events(ws) -> list[dict]:
    return audit.query(ws.db, audit.EventFilter(action="labels.ingested"))


def test_a_batch_is_attributed_and_audited_once_without_values(keyed) -> None:
    ws, ids = keyed
    frame = pl.DataFrame({"prediction_id": [ids[0], ids[1], "nope"], "label": [1, 0, 1]})
    out = labelling.ingest_labels(ws, "keyed", frame, salt=SALT, actor="ana@x.org", source="cli")
    assert (out["received"], out["accepted"], out["matched"], out["unknown"]) == (3, 3, 2, 1)
    events = _events(ws)
    assert len(events) == 1
    event = events[0]
    assert (event["actor"], event["subject"]) == ("ana@x.org", "model:keyed")
    assert event["payload"] == {
        "batch": out["batch"],
        "by": "prediction_id",
        "source": "cli",
        "received": 3,
        "stored": 2,
        "matched": 2,
        "unknown": 1,
        "duplicates": 0,
        "skipped": 0,
    }
    # No id, key or label value reaches the audit log.
    assert "nope" not in str(event) and ids[0] not in str(event)
    stored = LabelStore(ws.settings.prediction_log_url).scan("keyed").collect()
    assert set(stored["labelled_by"]) == {"ana@x.org"} and set(stored["batch"]) == {out["batch"]}


def test_an_overwritten_label_stays_in_the_queryable_history(keyed) -> None:
    ws, ids = keyed
    send = pl.DataFrame({"key": ["patient-2"], "label": [1]})
    labelling.ingest_labels(ws, "keyed", send, by="key", salt=SALT, actor="ana@x.org", source="cli")
    labelling.ingest_labels(
        ws,
        "keyed",
        send.with_columns(pl.lit(0).alias("label")),
        by="key",
        salt=SALT,
        actor="apikey:kpredictor0001",
        source="api",
        reveal_matches=False,
    )
    history = labelling.label_history(ws, "keyed", ["patient-2"], by="key", salt=SALT)
    assert [(h["label"], h["labelled_by"], h["source"]) for h in history] == [
        ("1", "ana@x.org", "cli"),
        ("0", "apikey:kpredictor0001", "api"),
    ]
    # The key is looked up by its hash: the text itself was never stored.
    assert history[0]["key"] == hash_value("patient-2", SALT)
    latest = LabelStore(ws.settings.prediction_log_url).scan_labelled("keyed").collect()
    assert latest.filter(pl.col("prediction_id") == ids[2])["label"].item() == "0"
    assert len(_events(ws)) == 2


def test_a_caller_who_cannot_read_the_log_learns_no_matches(keyed) -> None:
    ws, _ = keyed
    frame = pl.DataFrame({"key": ["patient-1", "patient-99"], "label": [1, 1]})
    out = labelling.ingest_labels(
        ws,
        "keyed",
        frame,
        by="key",
        salt=SALT,
        actor="apikey:k1",
        source="api",
        reveal_matches=False,
    )
    assert (out["received"], out["accepted"]) == (2, 2)
    assert [out[k] for k in ("stored", "matched", "unknown", "unknown_examples")] == [None] * 4
    # Both are kept, so nothing observable depends on which key is in the log.
    assert LabelStore(ws.settings.prediction_log_url).scan("keyed").collect().height == 2
    # The audit log still knows what matched.
    assert _events(ws)[0]["payload"]["matched"] == 1


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (pl.Series("label", [[1, 2]]), "holds list values"),
        (pl.Series("label", [{"a": 1}]), "holds object values"),
        (pl.Series("label", ["x" * 257]), "257 characters long; the limit is 256"),
        (pl.Series("label", [1.0, float("nan")]), "must be a finite number"),
        (pl.Series("label", [float("inf")]), "must be a finite number"),
    ],
)
def test_labels_that_are_not_short_scalars_are_refused_and_nothing_is_stored(
    keyed, labels: pl.Series, message: str
) -> None:
    ws, ids = keyed
    frame = pl.DataFrame({"prediction_id": ids[: len(labels)], "label": labels})
    with pytest.raises(InvalidInput, match=message):
        labelling.ingest_labels(ws, "keyed", frame, salt=SALT, actor="a", source="cli")
    assert LabelStore(ws.settings.prediction_log_url).scan("keyed").collect().height == 0
    assert _events(ws) == []


def test_over_long_ids_and_unknown_sources_are_refused(keyed) -> None:
    ws, _ = keyed
    long_id = pl.DataFrame({"prediction_id": ["p" * 257], "label": [1]})
    with pytest.raises(InvalidInput, match="column 'prediction_id': row 0 is 257 characters"):
        labelling.ingest_labels(ws, "keyed", long_id, salt=SALT, actor="a", source="cli")
    ok = pl.DataFrame({"prediction_id": ["p"], "label": [1]})
    with pytest.raises(InvalidInput, match="label source 'email' is unknown"):
        labelling.ingest_labels(ws, "keyed", ok, salt=SALT, actor="a", source="email")
    assert _events(ws) == []

"""``aims labels ingest`` and ``aims labels history`` as a user runs them (the entry point in this
process, see :mod:`tests.cli.in_process`): attributed, audited, kept."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import polars as pl

from aims.services import audit, registry
from aims.storage.predlog import PredictionLogWriter
from aims.workspace import Workspace
from tests.cli.in_process import run_in_process
from tests.conftest import _open_workspace


def aims(root: Path, *args: str, user: str) -> subprocess.CompletedProcess[str]:
    return run_in_process(["-w", str(root), *args], root, {"AIMS_USER": user})


def test_labels_sent_twice_are_both_kept_with_who_sent_them(tmp_path: Path, cancer_files) -> None:
    root = tmp_path / "ws"
    ws = _open_workspace(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws, cancer_files["model"], "cancer", actor="ana@x.org", datasets=["cancer@1"]
    )
    with PredictionLogWriter(ws.settings.prediction_log_url, flush_interval=60) as writer:
        ids = writer.append("cancer", 1, "production", [{"x": 1}, {"x": 2}], [1, 0])
    ws.close()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    pl.DataFrame({"prediction_id": ids, "label": [1, 0]}).write_csv(first)
    pl.DataFrame({"prediction_id": ids[:1], "label": [0]}).write_csv(second)

    done = aims(
        root, "labels", "ingest", str(first), "-m", "cancer", "-f", "json", user="lab@x.org"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["matched"] == 2
    done = aims(root, "labels", "ingest", str(second), "-m", "cancer", user="qa@x.org")
    assert done.returncode == 0 and "1 of 1 labels matched" in done.stdout, done.stderr

    shown = aims(root, "labels", "history", ids[0], "-m", "cancer", "-f", "json", user="x")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)["labels"]
    assert [(r["label"], r["labelled_by"], r["source"]) for r in rows] == [
        ("1", "lab@x.org", "cli"),
        ("0", "qa@x.org", "cli"),
    ]
    ws = Workspace.open(root)
    events = audit.query(ws.db, audit.EventFilter(action="labels.ingested"))
    ws.close()
    assert [(e["actor"], e["payload"]["received"]) for e in events] == [
        ("lab@x.org", 2),
        ("qa@x.org", 1),
    ]


def test_a_list_label_is_refused_in_one_line(tmp_path: Path, cancer_files) -> None:
    root = tmp_path / "ws"
    ws = _open_workspace(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws, cancer_files["model"], "cancer", actor="ana@x.org", datasets=["cancer@1"]
    )
    ws.close()
    path = tmp_path / "labels.parquet"
    pl.DataFrame({"prediction_id": ["p1"], "label": [[1, 2]]}).write_parquet(path)
    done = aims(root, "labels", "ingest", str(path), "-m", "cancer", user="lab@x.org")
    assert done.returncode != 0
    assert "holds list values; a label is one number, boolean or text" in done.stderr
    assert "Traceback" not in done.stderr

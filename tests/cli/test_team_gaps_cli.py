"""Team mode at the command line: labels are a governance write, a checkpoint is not."""

from __future__ import annotations

from pathlib import Path

from tests.cli.in_process import run

TEAM = {"AIMS_IDENTITY": "team"}


def test_labels_are_refused_and_a_checkpoint_is_written_in_team_mode(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run(["init", str(root)], tmp_path).returncode == 0
    labels = tmp_path / "labels.csv"
    labels.write_text("request_id,label\nr1,1\n")
    refused = run(["labels", "ingest", str(labels), "--model", "m"], root, TEAM)
    assert refused.returncode != 0
    assert "'aims labels ingest' writes governance records straight to the store" in refused.stderr
    out = tmp_path / "head.checkpoint"
    written = run(["audit", "checkpoint", "--out", str(out)], root, TEAM)
    assert written.returncode == 0, written.stderr
    assert out.is_file() and out.stat().st_size > 0

"""The Python API over a real workspace: same services, errors and audit trail as the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import aims
from aims.errors import GateFailed, InvalidInput, NotFound, PermissionDenied

OWNERS = {"development": "ana@x.org", "deployment": "raj@x.org", "monitoring": "oncall@x.org"}


def _actions(root: Path) -> list[tuple[str, str]]:
    from aims.services.audit import query
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    try:
        # Lifecycle events only: principals may be recorded on first sight, as for the CLI.
        return [
            (e["actor"], e["action"])
            for e in query(ws.db)
            if e["action"].startswith(("dataset.", "model."))
        ]
    finally:
        ws.close()


@pytest.fixture
def split(cancer_frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    shuffled = cancer_frame.sample(fraction=1.0, shuffle=True, seed=0)
    return shuffled.head(400), shuffled.tail(cancer_frame.height - 400)


def _fitted(train: pl.DataFrame):
    x = train.drop("target").to_pandas()
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        x, train["target"].to_numpy()
    )


def test_lifecycle_from_frames_is_checked_and_audited_like_the_cli(tmp_path: Path, split) -> None:
    train, holdout = split
    ws = aims.Workspace.init(tmp_path / "ws", policy="minimal", actor="ana@x.org")
    try:
        first = ws.register_dataset(train, "cancer")  # a Polars frame
        again = ws.register_dataset(train.to_pandas(), "cancer")  # the same rows from pandas
        assert (first["version"], first["created"]) == (1, True)
        assert (again["version"], again["created"]) == (1, False)

        mv = ws.register_model(_fitted(train), "c", dataset="cancer@1", owners=OWNERS)
        assert (mv["flavour"], mv["task"], mv["datasets"]) == (
            "skops",
            "classification",
            ["cancer@1"],
        )

        result = ws.evaluate("c@1", holdout.to_pandas(), label="target")
        assert result["evaluation"]["metrics"]["accuracy"] > 0.9

        with pytest.raises(GateFailed, match=r"approvals\.count: 0 of 1"):
            ws.promote("c@1")
        with pytest.raises(PermissionDenied, match="four-eyes"):
            ws.approve("c@1")
        ws.act_as("raj@x.org").approve("c@1", note="looked at it")
        assert ws.gates("c@1")["passed"] is True
        assert ws.promote("c@1")["stage"] == "production"
        assert ws.models()[0]["production"] == 1
    finally:
        ws.close()

    assert _actions(tmp_path / "ws") == [
        ("ana@x.org", "dataset.register"),
        ("ana@x.org", "model.owners.set"),
        ("ana@x.org", "model.register"),
        ("ana@x.org", "model.evaluate"),
        ("ana@x.org", "model.promote.refused"),
        ("ana@x.org", "model.approve.refused"),
        ("raj@x.org", "model.approve"),
        ("ana@x.org", "model.promote"),
    ]


def test_an_object_that_is_not_a_model_is_refused_and_nothing_is_stored(
    tmp_path: Path, split
) -> None:
    train, _ = split
    with aims.Workspace.init(tmp_path / "ws", actor="ana@x.org") as ws:
        ws.register_dataset(train, "cancer")
        before = _actions(tmp_path / "ws")
        with pytest.raises(InvalidInput, match="cannot register a dict as a model"):
            ws.register_model({"weights": [1, 2]}, "c", dataset="cancer@1")
        with pytest.raises(InvalidInput, match="cannot use a list as a table"):
            ws.register_dataset([1, 2, 3], "other")
        assert ws.models() == []
        assert [d["name"] for d in ws.datasets()] == ["cancer"]
    assert _actions(tmp_path / "ws") == before


def test_opening_a_folder_that_is_not_a_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="run 'aims init"):
        aims.Workspace(tmp_path)
    with pytest.raises(InvalidInput, match="not a policy preset; use one of minimal"):
        aims.Workspace.init(tmp_path / "ws", policy="lenient")
    assert not (tmp_path / "ws").exists()


def test_drift_json_is_what_the_cli_prints(tmp_path: Path, split) -> None:
    reference, current = split
    current = current.with_columns(pl.col("mean_radius") * 1.5)
    reference.write_parquet(tmp_path / "ref.parquet")
    current.write_parquet(tmp_path / "cur.parquet")
    out = subprocess.run(
        [sys.executable, "-m", "aims", "drift", "ref.parquet", "cur.parquet", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert out.returncode == 0, out.stderr
    from_cli = json.loads(out.stdout)

    from_frames = aims.drift(reference.to_pandas(), current)
    assert json.loads(from_frames.to_json()) == from_cli
    assert aims.drift(tmp_path / "ref.parquet", tmp_path / "cur.parquet").to_dict() == from_cli
    assert "mean_radius" in from_frames.drifted_columns
    assert repr(from_frames).startswith("<DriftResult: ")


def test_drift_report_renders_inline_and_exports(tmp_path: Path, split) -> None:
    reference, current = split
    report = aims.drift(reference, current.with_columns(pl.col("mean_radius") + 10), title="R & D")
    inline = report._repr_html_()
    assert inline.startswith('<iframe sandbox="allow-same-origin"')
    assert 'title="R &amp; D"' in inline and "&lt;svg" in inline
    page = report.to_html(tmp_path / "drift.html")
    assert (tmp_path / "drift.html").read_text() == page
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    text = report.to_json(tmp_path / "drift.json")
    data = json.loads((tmp_path / "drift.json").read_text())
    assert json.loads(text) == data
    assert set(data) >= {"columns", "n_drifted", "share_drifted", "dataset_drift"}
    assert report.dataset_drift is data["dataset_drift"]


def test_import_aims_loads_nothing_else_until_asked() -> None:
    code = (
        "import sys, aims; before = sorted(m for m in sys.modules if m.startswith('aims')); "
        "aims.Workspace; print(before, 'aims.api' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "['aims'] True"


def test_public_surface() -> None:
    assert aims.__all__ == sorted(aims.__all__)
    for name in aims.__all__:
        assert getattr(aims, name) is not None
    assert set(dir(aims)) >= set(aims.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        aims.nosuch  # noqa: B018

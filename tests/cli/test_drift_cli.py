"""``aims drift``: formats, options and errors, with no workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from aims.cli.drift import drift


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("drift")(drift)

    @app.callback()
    def _root() -> None:  # keep "drift" as a sub-command
        pass

    return app


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    n = 4000
    ref = pl.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.normal(0, 1, n),
            "c": rng.choice(["a", "b"], n),
            "gone": np.ones(n),
        }
    )
    cur = pl.DataFrame(
        {"x": rng.normal(1, 1, n), "y": rng.normal(0, 1, n), "c": rng.choice(["a", "b"], n)}
    )
    ref_path, cur_path = tmp_path / "ref.parquet", tmp_path / "cur.csv"
    ref.write_parquet(ref_path)
    cur.write_csv(cur_path)
    return ref_path, cur_path


def test_json_output(app: typer.Typer, files: tuple[Path, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["drift", str(files[0]), str(files[1]), "--format", "json"], catch_exceptions=False
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {"columns", "n_drifted", "share_drifted", "dataset_drift"} <= set(data)
    by_name = {c["name"]: c for c in data["columns"]}
    assert by_name["x"]["drifted"] and not by_name["y"]["drifted"]
    assert by_name["gone"]["test"] == "schema" and by_name["gone"]["drifted"]
    assert data["n_drifted"] == 2 and data["share_drifted"] == 0.5 and data["dataset_drift"]
    for col in data["columns"]:
        assert {"name", "kind", "test", "statistic", "p_value", "threshold", "drifted"} <= set(col)


def test_columns_and_options(app: typer.Typer, files: tuple[Path, Path]) -> None:
    args = [
        "drift",
        str(files[0]),
        str(files[1]),
        "-f",
        "json",
        "--columns",
        "x,y",
        "--test",
        "y=ks",
        "--threshold",
        "wasserstein=5",
        "--method",
        "profile",
    ]
    data = json.loads(CliRunner().invoke(app, args, catch_exceptions=False).stdout)
    assert [c["name"] for c in data["columns"]] == ["x", "y"]
    assert [c["test"] for c in data["columns"]] == ["wasserstein", "ks"]
    assert data["columns"][0]["threshold"] == 5.0 and not data["columns"][0]["drifted"]
    assert data["method"] == "profile"


def test_table_and_html(app: typer.Typer, files: tuple[Path, Path], tmp_path: Path) -> None:
    table = CliRunner().invoke(app, ["drift", str(files[0]), str(files[1])], catch_exceptions=False)
    assert table.exit_code == 0 and "DRIFT" in table.stdout and "dataset drift" in table.stdout
    out = tmp_path / "report.html"
    html = CliRunner().invoke(
        app,
        ["drift", str(files[0]), str(files[1]), "-f", "html", "-o", str(out)],
        catch_exceptions=False,
    )
    assert html.exit_code == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3


def test_fail_on_drift(app: typer.Typer, files: tuple[Path, Path]) -> None:
    result = CliRunner().invoke(
        app, ["drift", str(files[0]), str(files[1]), "--fail-on-drift", "-f", "json"]
    )
    assert result.exit_code == 3


def test_errors_are_one_line_with_exit_code(files: tuple[Path, Path], tmp_path: Path) -> None:
    aims = Path(sys.executable).with_name("aims")
    missing = subprocess.run(
        [str(aims), "drift", str(files[0]), str(tmp_path / "nope.parquet")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert missing.returncode == 1
    assert "no such file" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    bad = subprocess.run(
        [str(aims), "drift", str(files[0]), str(files[1]), "--columns", "zz"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 1 and "neither input" in bad.stderr

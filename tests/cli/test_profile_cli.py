"""``aims profile`` and profile files in ``aims drift``, run through the entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest

from aims.core.profile import dumps
from aims.services.engines.profile_files import read_profile
from tests.engines.equality import partitions, write_parts


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def aims(capsys: pytest.CaptureFixture[str]):
    from aims.cli.main import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parts(tmp_path_factory.mktemp("lake"), partitions())


def test_profile_a_folder_then_parts_like_it_merge_to_the_folder(aims, lake, tmp_path) -> None:
    ref = tmp_path / "ref.profile"
    done = aims("profile", lake, "--out", ref, "--format", "json")
    assert done.code == 0, done.err
    summary = json.loads(done.out)
    assert summary["rows"] == sum(p.height for p in partitions()) and summary["engine"] == "local"
    # each part profiled like the reference, as separate pipeline steps would
    outs = []
    for i in range(8):
        out = tmp_path / f"p{i}.json"
        assert aims("profile", lake / f"part={i}", "--like", ref, "--out", out).code == 0
        outs.append(out)
    merged = tmp_path / "merged.profile"
    assert aims("profile", "merge", *outs, "--out", merged).code == 0
    whole = tmp_path / "whole.profile"
    assert aims("profile", lake, "--like", ref, "--out", whole).code == 0
    assert dumps(read_profile(str(merged))) == dumps(read_profile(str(whole)))
    assert json.loads((tmp_path / "p5.json").read_text())["aims_profile"] == 1


def test_drift_takes_profile_files_on_either_side(aims, lake, tmp_path) -> None:
    moved = write_parts(
        tmp_path / "moved", [p.with_columns(pl.col("y") * 3.0) for p in partitions(seed=4)]
    )
    ref = tmp_path / "ref.profile"
    cur = tmp_path / "cur.profile"
    assert aims("profile", lake, "--out", ref).code == 0
    assert aims("profile", moved, "--like", ref, "--out", cur).code == 0
    verdicts = []
    for a, b in ((ref, cur), (ref, moved), (lake, moved)):
        done = aims("drift", a, b, "--format", "json")
        assert done.code == 0, done.err
        verdicts.append(json.loads(done.out))
    assert verdicts[0]["columns"] == verdicts[1]["columns"] == verdicts[2]["columns"]
    assert "y" in [c["name"] for c in verdicts[0]["columns"] if c["drifted"]]
    # data on the reference side is profiled on the current profile's layouts
    done = aims("drift", lake, cur, "--format", "json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["dataset_drift"] == verdicts[0]["dataset_drift"]


def test_profile_with_dask_writes_the_local_profile(aims, lake, tmp_path) -> None:
    local, on_dask = tmp_path / "local.profile", tmp_path / "dask.profile"
    assert aims("profile", lake, "--out", local).code == 0
    done = aims("profile", lake, "--out", on_dask, "--engine", "dask", "--workers", "1")
    assert done.code == 0, done.err
    assert on_dask.read_bytes() == local.read_bytes()


def test_merging_profiles_of_different_layouts_says_how_to_fix_it(aims, lake, tmp_path) -> None:
    a, b = tmp_path / "a.profile", tmp_path / "b.profile"
    assert aims("profile", lake / "part=0", "--out", a).code == 0
    assert aims("profile", lake / "part=3", "--out", b).code == 0
    out = tmp_path / "ab.profile"
    done = aims("profile", "merge", a, b, "--out", out)
    assert done.code == 1 and "--like" in done.err and done.err.count("\n") <= 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile", "{tmp}/nowhere", "--out", "{tmp}/x.profile"], "no such file or folder"),
        (["profile", "{tmp}/empty", "--out", "{tmp}/x.profile"], "no data files"),
        (["profile", "{tmp}/notes.txt", "--out", "{tmp}/x.profile"], "unsupported file type"),
        (["drift", "{tmp}/notes.txt", "{lake}", "--format", "json"], "unsupported file type"),
        (["drift", "{tmp}/broken.profile", "{lake}", "--format", "json"], "not an aims profile"),
        (["drift", "{lake}", "{lake}", "--method", "exact"], "--method exact"),
        (
            [
                "profile",
                "{lake}",
                "--like",
                "{tmp}/none.profile",
                "--kind",
                "x=numeric",
                "--out",
                "{tmp}/x.profile",
            ],
            "--kind cannot be combined with --like",
        ),
        (["profile", "merge", "--out", "{tmp}/x.profile"], "at least one profile file"),
        (["profile", "{lake}", "--engine", "hadoop", "--out", "{tmp}/x.profile"], "hadoop"),
        (
            ["profile", "{lake}", "--scheduler", "tcp://127.0.0.1:1", "--out", "{tmp}/x.profile"],
            "add --engine dask or spark",
        ),
        (["drift", "{lake}", "{lake}", "--workers", "2"], "add --engine dask or spark"),
    ],
)
def test_bad_input_gets_one_clear_message(aims, lake, tmp_path, args, message) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not data\n")
    (tmp_path / "broken.profile").write_text("not a profile\n")
    done = aims(*[a.format(tmp=tmp_path, lake=lake) for a in args])
    assert done.code in (1, 2)
    assert message in done.err, done.err
    assert not (tmp_path / "x.profile").exists()
    assert "Traceback" not in done.err


@pytest.mark.parametrize("command", ["profile", "drift"])
def test_an_engine_without_its_extra_names_the_extra(
    aims, lake, tmp_path, command, monkeypatch
) -> None:
    # None in sys.modules is how Python marks a module that cannot be imported
    monkeypatch.setitem(sys.modules, "distributed", None)
    args = ["{lake}", "--out", "{tmp}/x.profile"] if command == "profile" else ["{lake}", "{lake}"]
    done = aims(command, *[a.format(tmp=tmp_path, lake=lake) for a in args], "--engine", "dask")
    assert done.code == 1
    assert "pip install 'aims[dask]'" in done.err, done.err
    assert not (tmp_path / "x.profile").exists()


def test_help_shows_both_forms(aims) -> None:
    done = aims("profile", "--help")
    assert done.code == 0
    assert "merge" in done.out and "--engine" in done.out and "--like" in done.out
    assert sys.executable  # the entry point ran in this process

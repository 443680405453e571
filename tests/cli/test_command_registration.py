"""The aims process attaches only the command it runs; help still lists every command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import typer
from click.testing import CliRunner

from aims.cli.commands import NAMES, register
from aims.cli.main import _command_named
from tests.cli.in_process import run_as_process


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["profile", "data.parquet", "--out", "p.profile"], "profile"),
        (["-w", "somewhere", "drift", "a", "b"], "drift"),
        (["--workspace=somewhere", "gateway", "allowed"], "gateway"),
        (["--debug", "model", "list"], "model"),
        # the value of --workspace is not the command
        (["--workspace", "profile"], None),
        (["--help"], None),
        (["--version"], None),
        (["--help", "profile"], None),
        (["nosuch", "thing"], None),
        ([], None),
    ],
)
def test_the_command_a_run_names_is_found_after_the_global_options(
    args: list[str], named: str | None
) -> None:
    assert _command_named(args) == named


@pytest.mark.parametrize("name", sorted(NAMES))
def test_each_command_attached_alone_is_that_command_and_runs_its_help(name: str) -> None:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None: ...

    register(app, only=name)
    command = typer.main.get_command(app)
    assert list(command.commands) == [name]
    ran = CliRunner().invoke(command, [name, "--help"])
    assert ran.exit_code == 0, ran.output
    assert "Usage:" in ran.output


def _aims(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_as_process(list(args), cwd, {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})


def test_a_process_runs_one_command_and_help_still_lists_all(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,a\n2,b\n3,a\n")
    done = _aims("profile", str(data), "--out", str(tmp_path / "d.profile"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d.profile").stat().st_size > 0

    listed = _aims("--help", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    missing = [name for name in NAMES if f" {name} " not in listed.stdout]
    assert not missing

    # an unknown command is refused with Click's message and usage exit code
    wrong = _aims("nosuch", cwd=tmp_path)
    assert wrong.returncode == 2 and "No such command 'nosuch'" in wrong.stderr

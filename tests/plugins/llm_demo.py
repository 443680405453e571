"""``aims demo --llm`` run once per test run, as a real process, for every test that reads it.

The chapter's command line is tested on what it printed and left in its store
(``tests/cli/test_demo_llm.py``) and the dashboard's LLM pages on a server over
that store (``tests/ui/test_llm_pages.py``). Both read one run of the chapter:
the first xdist worker to need it runs it under a lock in the run's shared temp
folder, and every other worker reads what it left.

Fixture:

- ``llm_demo`` (session): ``folder`` (the chapter's workspace, to be read, never
  written: a test that writes works on a copy), ``summary`` (the ``--format json``
  output) and ``told`` (what the chapter printed on stderr).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugins._debian import file_lock


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder every worker of this run sees (its own base folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


@pytest.fixture(scope="session")
def llm_demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The LLM chapter's workspace, JSON summary and told steps (run once per test run)."""
    shared = _shared_folder(tmp_path_factory) / "llm-demo"
    folder, result = shared / "ws", shared / "result.json"
    with file_lock(shared.with_suffix(".lock")):
        if not result.exists():
            command = ["demo", "--llm", "--dir", str(folder), "--format", "json"]
            done = subprocess.run(
                [sys.executable, "-m", "aims", *command],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
            result.write_text(json.dumps({"summary": json.loads(done.stdout), "told": done.stderr}))
    ran = json.loads(result.read_text())
    return {"folder": folder, "summary": ran["summary"], "told": ran["told"]}

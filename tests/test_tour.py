"""The README's "A short tour", run as written.

The test reads the tour's code blocks from README.md itself, so the README and
what is tested cannot drift apart: the Python block is saved as
``make_data.py`` and the shell block runs in bash, top to bottom, with ``aims``
from this environment. The only change is the port: ``8000`` becomes a free
port the OS chose. Afterwards the test checks what the tour promises: a model
in production that answered a prediction sent with only its features, a label
ingested, a monitor window computed, and a dashboard page without incidents.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def tour_blocks() -> tuple[str, str]:
    """The Python and shell code blocks of the README's tour section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    python = re.search(r"```python\n(.*?)```", section, re.S)
    shell = re.search(r"```bash\n(.*?)```", section, re.S)
    assert python and shell, "the tour needs a python block and a bash block"
    return python.group(1), shell.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def aims(args: list[str], cwd: Path) -> str:
    """A check after the tour: the CLI's entry point run in this process (the tour
    itself already ran every command as a process), which spares the imports."""
    from tests.cli.in_process import run_in_process

    out = run_in_process(args, cwd, {"AIMS_USER": "ana@example.org"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_readme_tour_works_as_written(tmp_path: Path) -> None:
    make_data, shell = tour_blocks()
    port = free_port()
    (tmp_path / "make_data.py").write_text(make_data)
    (tmp_path / "tour.sh").write_text("set -euo pipefail\n" + shell.replace("8000", str(port)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMS_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"
    # Its own session, so the server the tour leaves in the background is stopped after.
    proc = subprocess.Popen(
        ["bash", str(tmp_path / "tour.sh")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ws = tmp_path / "ml"
    try:
        out, err = proc.communicate(timeout=240)
        log = (ws / "serve.log").read_text() if (ws / "serve.log").exists() else ""
        assert proc.returncode == 0, f"{err}\n--- serve.log ---\n{log}"
        assert "is now in production" in out

        # The prediction was answered, sent with the model's four features only.
        answer = json.loads((ws / "answer.json").read_text())
        assert answer["model"] == "biopsy" and answer["role"] == "production"
        assert len(answer["predictions"]) == 1
        model = json.loads(aims(["model", "show", "biopsy@1", "--format", "json"], ws))
        assert model["stage"] == "production" and len(model["features"]) == 4

        # The label arrived and a window was computed.
        pid = answer["predictions"][0]["prediction_id"]
        history = aims(["labels", "history", pid, "--model", "biopsy", "--format", "json"], ws)
        assert pid in history
        windows = json.loads(aims(["monitor", "windows", "biopsy", "--format", "json"], ws))
        assert windows, "the monitor computed no window"
        assert json.loads(aims(["incidents", "list", "--format", "json"], ws)) == []

        # The dashboard, signed in with a viewer key, shows the model without incidents.
        key = json.loads(aims(["keys", "create", "--role", "viewer", "--format", "json"], ws))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as browser:
            page = browser.get("/ui/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            browser.post("/ui/login", data={"api_key": key["api_key"], "csrf": csrf.group(1)})
            inventory = browser.get("/ui/")
            assert inventory.status_code == 200 and "biopsy" in inventory.text
            incidents = browser.get("/ui/incidents")
            assert incidents.status_code == 200 and "biopsy" not in incidents.text
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

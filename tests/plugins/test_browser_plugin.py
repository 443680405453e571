from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.browser import SCREENSHOTS, screenshot

PAGE = b"""<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<button id="b" onclick="document.getElementById('t').textContent='clicked'">go</button>
<p id="t">waiting</p></body></html>"""

BROKEN = b"""<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<script>console.error("shown on purpose"); undefinedFunction();</script></body></html>"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep request lines out of the captured test output


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """Base URL of a static server on a free loopback port, serving two small pages."""
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "broken.html").write_bytes(BROKEN)
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_real_chromium_runs_javascript(
    page: Any, site: str, request: pytest.FixtureRequest
) -> None:
    page.goto(f"{site}/index.html")
    assert page.text_content("#t") == "waiting"
    page.click("#b")
    assert page.text_content("#t") == "clicked"
    assert page.console_errors == []
    path = screenshot(page, "plugin-smoke")
    assert path.parent == SCREENSHOTS
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert request.node.get_closest_marker("browser") is not None


def test_console_and_page_errors_are_recorded(
    page: Any, site: str, console_errors: list[str]
) -> None:
    page.goto(f"{site}/broken.html")
    page.wait_for_function("() => document.readyState === 'complete'")
    assert console_errors is page.console_errors
    assert console_errors[0] == "shown on purpose"
    assert any("undefinedFunction" in e and e.startswith("uncaught:") for e in console_errors)

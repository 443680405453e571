from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path

from tests.plugins.browser import screenshot

PAGE = b"""<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<button id="b" onclick="document.getElementById('t').textContent='clicked'">go</button>
<p id="t">waiting</p></body></html>"""


def test_real_chromium_runs_javascript(page, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_bytes(PAGE)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path), **k
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{port}/index.html")
        page.click("#b")
        assert page.text_content("#t") == "clicked"
        assert page.console_errors == []
        assert screenshot(page, "plugin-smoke").stat().st_size > 1000
    finally:
        server.shutdown()
        server.server_close()

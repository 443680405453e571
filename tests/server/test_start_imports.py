"""A server that serves no model holds none of the statistics stack.

``aims serve`` used to import Polars, PyArrow's pandas bridge, SciPy and
scikit-learn at start through the prediction log, the dashboard's services and
the registry, about a hundred megabytes a trace-only server never uses. The
server here is built and started in a fresh interpreter (this one has loaded
everything already), answers real HTTP on loopback, and reports which of those
libraries it imported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from aims.services import keys

HEAVY = ("polars", "pandas", "sklearn", "scipy")

CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    from pathlib import Path

    import httpx
    import uvicorn

    from aims.server.assembly import build_server
    from aims.workspace import Workspace

    root, key = sys.argv[1], sys.argv[2]
    ws = Workspace.open(Path(root))
    app = build_server(ws)
    built = sorted(m for m in {heavy} if m in sys.modules)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            sys.exit("the server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{{port}}"
    ready = httpx.get(f"{{url}}/readyz", timeout=30).status_code
    login = httpx.get(f"{{url}}/ui/login", timeout=30).status_code
    token = httpx.post(f"{{url}}/v1/auth/token", json={{"api_key": key}}, timeout=30)
    span = {{
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "chat gpt-4o-mini",
        "startTimeUnixNano": "1767225600000000000",
        "endTimeUnixNano": "1767225601000000000",
        "attributes": [
            {{"key": "gen_ai.operation.name", "value": {{"stringValue": "chat"}}}},
            {{"key": "gen_ai.usage.input_tokens", "value": {{"intValue": "12"}}}},
        ],
    }}
    # Two hours apart: the store splits the batch into two partitions.
    later = {{
        **span,
        "spanId": "b7ad6b7169203332",
        "startTimeUnixNano": "1767229200000000000",
        "endTimeUnixNano": "1767229201000000000",
    }}
    body = {{"resourceSpans": [{{"scopeSpans": [{{"spans": [span, later]}}]}}]}}
    export = httpx.post(
        f"{{url}}/v1/traces",
        json=body,
        headers={{"Authorization": "Bearer " + token.json()["access_token"]}},
        timeout=30,
    )
    app.state.traces.writer.flush()
    served = sorted(m for m in {heavy} if m in sys.modules)
    server.should_exit = True
    thread.join(30)
    print(json.dumps({{
        "built": built, "served": served, "ready": ready, "login": login,
        "export": export.status_code, "stored": app.state.traces.writer.stats.rows_written,
    }}))
    """
).format(heavy=repr(HEAVY))


def test_a_server_taking_in_traces_loads_no_statistics_stack(workspace) -> None:
    _, key = keys.create_key(workspace, project="default", role="predictor", actor="ops@x.org")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(workspace.root), key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    # The requests really went through: a page, the readiness check and stored spans.
    assert (report["ready"], report["login"], report["export"]) == (200, 200, 200), report
    assert report["stored"] == 2, report
    assert report["built"] == [], f"imported by build_server: {report['built']}"
    # Taking in spans needs PyArrow only, not even the pandas PyArrow's conversions load.
    assert report["served"] == [], f"imported while serving: {report['served']}"

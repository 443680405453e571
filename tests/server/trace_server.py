"""A real ``aims serve`` process for the trace tests, and OTLP bodies to send it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import use_open_policy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trace_workspace(root: Path, *, traces_yaml: str = "") -> dict[str, str]:
    """A workspace at ``root`` with a predictor and a viewer key of project ``default`` and an
    admin key of every project; returns the keys by role."""
    from aims.services import keys
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    use_open_policy(root)
    if traces_yaml:
        with (root / "aims.yaml").open("a") as f:
            f.write(traces_yaml)
    ws = Workspace.open(root)
    out = {}
    for role in ("predictor", "viewer"):
        _, key = keys.create_key(ws, project="default", role=role, actor="ops@x.org")
        out[role] = key
    _, out["admin"] = keys.create_key(ws, project="*", role="admin", actor="ops@x.org")
    ws.close()
    return out


class Serve:
    """``aims serve`` in its own process group on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.errors = root.parent / f"serve-{self.port}.err"
        env = {**os.environ, "AIMS_USER": "ops@x.org"}
        with self.errors.open("w") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "aims",
                    "-w",
                    str(root),
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aims serve exited: {self.errors.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("aims serve did not become ready")
            time.sleep(0.1)

    def token(self, api_key: str) -> str:
        answer = httpx.post(f"{self.url}/v1/auth/token", json={"api_key": api_key})
        return answer.json()["access_token"]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(60)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def span_json(i: int, *, trace: str | None = None, **attrs) -> dict:
    """One OTLP JSON span: a chat call of the current conventions, 50 ms long."""
    start = 1_764_000_000_000_000_000 + i * 1_000_000_000
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 20,
        **attrs,
    }
    return {
        "traceId": trace or f"{i + 1:032x}",
        "spanId": f"{i + 1:016x}",
        "name": "chat gpt-4o-mini",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 50_000_000),
        "attributes": [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attributes.items()
        ],
        "status": {"code": 1},
    }


def export_json(spans: list[dict], service: str = "billing") -> bytes:
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                    },
                    "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
                }
            ]
        }
    ).encode()

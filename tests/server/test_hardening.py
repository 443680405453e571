"""Hostile traffic against real servers: bounded audit, trusted proxies, bodies, origins, headers."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from aims.server.app import TOKEN_RATE
from aims.server.auth_events import MAX_AUDIT_SUBJECTS, MAX_PATH_CHARS, MAX_PATHS
from aims.server.config import ServerConfig
from aims.server.headers import CSP
from aims.services import audit, keys
from tests.server.conftest import ACTOR, LiveServer, bearer, free_port, mint, new_workspace

BASE = ServerConfig(poll_interval=0.2, rate_limit=1e6, rate_burst=1e6)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    """A workspace with one predictor key and no models (refusals need none)."""
    workspace = new_workspace(tmp_path_factory.mktemp("hardening") / "ws")
    _, api_key = keys.create_key(workspace, project="alpha", role="predictor", actor=ACTOR)
    workspace.api_key = api_key  # type: ignore[attr-defined]
    yield workspace
    workspace.close()


def serve(ws: Any, **settings: Any) -> LiveServer:
    from aims.server.app import create_app

    config = ServerConfig(**{**BASE.__dict__, **settings})
    return LiveServer(create_app(ws, config=config))


def _last_seq(ws: Any) -> int:
    events = audit.query(ws.db, audit.EventFilter())
    return events[-1]["seq"] if events else 0


def _events_since(ws: Any, seq: int, action: str) -> list[dict[str, Any]]:
    events = audit.query(ws.db, audit.EventFilter(action=action))
    return [e for e in events if e["seq"] > seq]


# -- the audit log of refused calls is bounded --------------------------------


def test_refused_calls_with_huge_paths_and_rotating_addresses_grow_the_audit_log_boundedly(
    ws,
) -> None:
    """60 KB paths from 300 claimed addresses (believed: the peer is a trusted proxy)."""
    n = 300
    long_tail = "x" * 60_000
    mark = _last_seq(ws)
    # One flush only, at shutdown: every refusal lands in the same batch.
    with (
        serve(ws, auth_audit_interval=3600.0, trusted_proxies=("127.0.0.1",)) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        for i in range(n):
            spoofed = f"198.51.{i // 250}.{i % 250 + 1}"
            r = c.get(
                f"/v1/models/m{i}{long_tail}",
                headers={"Authorization": "Bearer garbage", "X-Forwarded-For": spoofed},
            )
            assert r.status_code == 401
    events = _events_since(ws, mark, "server.access.denied")
    sizes = [len(json.dumps(e["payload"])) + len(e["subject"]) for e in events]
    # At most MAX_AUDIT_SUBJECTS callers one by one, plus one summary for the rest.
    assert len(events) == MAX_AUDIT_SUBJECTS + 1
    assert sum(sizes) < 20_000, sizes  # was 1.2 MB per caller before the bound
    assert max(len(p) for e in events for p in e["payload"].get("paths", {})) <= MAX_PATH_CHARS
    assert sum(e["payload"]["count"] for e in events) == n  # nothing is lost from the counts
    summary = next(e for e in events if e["subject"] == "client:(others)")
    assert summary["payload"]["callers"] == n - MAX_AUDIT_SUBJECTS
    assert audit.verify(ws.db).ok


def test_one_caller_lists_few_paths_however_many_it_tries(ws) -> None:
    from aims.server.auth_events import AuthEvents

    events = AuthEvents()
    for i in range(500):
        events.note(
            "server.access.denied", "client:192.0.2.1", "missing_token", f"/p{i}/" + "y" * 999
        )
    mark = _last_seq(ws)
    assert events.flush(ws) == 1
    (event,) = _events_since(ws, mark, "server.access.denied")
    paths = event["payload"]["paths"]
    assert len(paths) == MAX_PATHS + 1 and paths["(other paths)"] == 500 - MAX_PATHS
    assert all(len(p) <= MAX_PATH_CHARS for p in paths)


def test_refused_calls_are_counted_and_audited_in_batches(ws) -> None:
    """Its own server, one batch (flushed at shutdown): no other test's refusals share it."""
    mark = _last_seq(ws)
    with (
        serve(ws, auth_audit_interval=3600.0, trusted_proxies=("127.0.0.1",)) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        before = _denied_total(c, ws)
        for _ in range(25):
            c.get("/v1/models/tiny", headers={**bearer("garbage"), "X-Forwarded-For": "192.0.2.25"})
        assert _denied_total(c, ws) - before == 25
    events = [
        e
        for e in _events_since(ws, mark, "server.access.denied")
        if e["subject"] == "client:192.0.2.25"
    ]
    # One event for the whole burst from this client, with the count, not 25 events.
    assert len(events) == 1
    assert events[0]["payload"]["reasons"] == {"invalid_token": 25}
    assert events[0]["payload"]["paths"] == {"/v1/models/tiny": 25}
    assert audit.verify(ws.db).ok


def _denied_total(c: httpx.Client, ws: Any) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = c.get("/metrics", headers=bearer(mint(ws, "*", "viewer"))).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        if f.name == "aims_auth_failures"
        for s in f.samples
        if s.name == "aims_auth_failures_total"
    )


# -- forwarded addresses only from trusted proxies ----------------------------


def _exchange_statuses(url: str, addresses: list[str]) -> tuple[list[int], float]:
    """Wrong-key exchanges sent together, one per address; their statuses, and how
    many exchanges the login limit may admit while they were being answered.

    Each caller opens its connection first and all send at once, so the flood is
    as tight as the machine allows; the limit refills during it, so what it may
    admit is the burst plus the refill over the flood's measured duration.
    """
    barrier = threading.Barrier(len(addresses), action=lambda: started.append(time.monotonic()))
    started: list[float] = []

    def exchange(address: str) -> int:
        with httpx.Client(base_url=url, timeout=60) as client:
            assert client.get("/healthz").status_code == 200  # connected before the flood
            barrier.wait(timeout=60)
            return client.post(
                "/v1/auth/token",
                json={"api_key": "aims.k0123456789ab.wrong"},
                headers={"X-Forwarded-For": address},
            ).status_code

    with ThreadPoolExecutor(len(addresses)) as pool:
        statuses = list(pool.map(exchange, addresses))
    rate, burst = TOKEN_RATE
    return statuses, burst + rate * (time.monotonic() - started[0])


def test_rotating_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_login_limit(ws) -> None:
    rotating = [f"203.0.113.{i}" for i in range(1, 31)]
    with serve(ws) as server:  # no trusted proxies (the default)
        statuses, admissible = _exchange_statuses(server.url, rotating)
    # One bucket (the real peer's): the burst and what refills meanwhile, then 429s;
    # thirty buckets would have let all thirty through.
    assert set(statuses) == {401, 429}, statuses
    assert statuses.count(401) <= admissible, (statuses, admissible)


def test_behind_a_trusted_proxy_each_client_has_its_own_login_bucket(ws) -> None:
    with serve(ws, trusted_proxies=("127.0.0.0/8",)) as server:
        distinct, _ = _exchange_statuses(server.url, [f"203.0.113.{i}" for i in range(1, 31)])
        # The proxy appends the real client; an address the client wrote itself is ignored.
        same, admissible = _exchange_statuses(
            server.url, [f"10.9.9.{i}, 203.0.113.77" for i in range(30)]
        )
    assert distinct == [401] * 30  # thirty clients, thirty buckets
    # One client however it disguises itself.
    assert set(same) == {401, 429} and same.count(401) <= admissible, (same, admissible)


# -- bodies: authenticated first, limited while streaming ---------------------


def _start_aims_serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AIMS_WORKSPACE": str(root)}
    with open(root.parent / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aims", "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log_text = (root.parent / "serve.log").read_text()[-2000:]
            raise RuntimeError(f"aims serve did not start: {log_text}")
        time.sleep(0.1)


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _tokenless_upload(port: int, path: str, size: int) -> bytes:
    """Send the head and a first part of a ``size``-byte body, then read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        s.sendall(head.encode() + b"[" + b" " * 65_535)
        answer = s.recv(65_536)
        # The rest: the server has closed the connection, so this may fail.
        with contextlib.suppress(OSError):
            s.sendall(b" " * (size - 65_536))
        return answer


def test_tokenless_large_posts_are_refused_before_their_body_is_read(tmp_path) -> None:
    ws = new_workspace(tmp_path / "ws")
    keys.create_key(ws, project="alpha", role="predictor", actor=ACTOR)
    ws.close()
    port = free_port()
    proc = _start_aims_serve(tmp_path / "ws", port)
    try:
        size = 16 * 1024 * 1024  # max_label_body_bytes: within the limit, so only auth refuses
        # The answer comes after 64 KB of 16 MiB: nothing waited for the body.
        answer = _tokenless_upload(port, "/v1/labels", size)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b"application/problem+json" in answer
        before = _rss_bytes(proc.pid)
        threads = [
            threading.Thread(target=_tokenless_upload, args=(port, path, size))
            for path in ["/v1/labels"] * 6 + ["/v1/models/m/predict"] * 6
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        after = _rss_bytes(proc.pid)
        # Buffering the bodies would have held twelve times 16 MiB (about 200 MB).
        print(f"server RSS before {before / 2**20:.1f} MiB, after {after / 2**20:.1f} MiB")
        assert after - before < 32 * 1024 * 1024, (before, after)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_chunked_body_is_cut_at_the_limit_with_a_problem(ws) -> None:
    token = mint(ws, "alpha", "predictor")

    def chunks():  # no Content-Length: the limit is enforced while the body streams
        yield b'{"model": "m", "labels": ['
        for _ in range(64):
            yield b" " * 65_536

    with serve(ws, max_label_body_bytes=1_000_000) as server, httpx.Client(timeout=30) as c:
        try:
            r = c.post(f"{server.url}/v1/labels", content=chunks(), headers=bearer(token))
        except httpx.HTTPError as exc:  # the server may close before the client is done
            pytest.fail(f"no answer before the connection closed: {exc}")
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "payload_too_large"
        assert c.get(f"{server.url}/healthz").status_code == 200


# -- cross-site requests and loopback-only insecure mode ----------------------


def test_cross_site_state_changes_are_refused_in_every_mode(ws) -> None:
    from aims.server.assembly import build_server

    token = mint(ws, "alpha", "predictor")
    body = {"model": "m", "labels": [{"prediction_id": "p", "label": 1}]}
    for insecure in (False, True):
        with LiveServer(build_server(ws, insecure_dev=insecure)) as server:
            own = f"http://127.0.0.1:{server.port}"
            with httpx.Client(base_url=server.url, timeout=30) as c:
                for headers in (
                    {"Origin": "https://evil.example"},
                    {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": f"http://127.0.0.1:{server.port + 1}"},
                ):
                    r = c.post("/v1/labels", json=body, headers={**bearer(token), **headers})
                    assert r.status_code == 403, (insecure, headers)
                    assert "cross-site" in r.json()["detail"]
                    form = c.post(
                        "/ui/models/m/versions/1/approve", data={"note": "x"}, headers=headers
                    )
                    assert form.status_code == 403, (insecure, headers)
                # The server's own pages (same origin) and non-browser clients pass this check.
                r = c.post("/v1/labels", json=body, headers={**bearer(token), "Origin": own})
                assert r.status_code != 403
                assert c.post("/v1/labels", json=body, headers=bearer(token)).status_code != 403
                rebound = c.get("/ui/", headers={"Host": "evil.example"})
                assert rebound.status_code == (403 if insecure else 303), insecure


def test_insecure_dev_is_refused_on_a_non_loopback_address(tmp_path) -> None:
    ws = new_workspace(tmp_path / "ws")
    ws.close()
    env = {**os.environ, "AIMS_WORKSPACE": str(tmp_path / "ws")}
    for host in ("0.0.0.0", "192.0.2.1", "::"):
        out = subprocess.run(
            [sys.executable, "-m", "aims", "serve", "--insecure-dev", "--host", host],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 1, out
        assert "--insecure-dev" in out.stderr and "127.0.0.1" in out.stderr, out.stderr


# -- security headers and API documents ---------------------------------------


def test_every_answer_carries_the_security_headers(ws) -> None:
    from aims.server.assembly import build_server

    with (
        LiveServer(build_server(ws)) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        answers = [
            c.get("/healthz"),
            c.get("/v1/models"),  # 401
            c.post("/v1/models/m/predict", json={"records": [{}]}),  # the fast path
            c.get("/nope"),  # 404
            c.get("/ui/login"),
            c.get("/ui/static/aims.css"),
            c.get("/openapi.json"),
        ]
        for r in answers:
            where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
            assert r.headers["content-security-policy"] == CSP, where
            assert "frame-ancestors 'none'" in CSP and "script-src 'self';" in CSP
            assert r.headers["x-frame-options"] == "DENY", where
            assert r.headers["referrer-policy"] == "same-origin", where
            assert r.headers["x-content-type-options"] == "nosniff", where
        # The interactive API pages load from a CDN: off by default; the document stays.
        assert c.get("/docs").status_code == 404 and c.get("/redoc").status_code == 404
        assert "/v1/labels" in c.get("/openapi.json").json()["paths"]
    with serve(ws, api_docs=True) as server:
        r = httpx.get(f"{server.url}/docs", timeout=30)
        assert r.status_code == 200 and "cdn.jsdelivr.net" in r.headers["content-security-policy"]

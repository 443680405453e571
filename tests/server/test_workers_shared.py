"""What ``aims serve --workers 2`` must hold as one server: rate limits and log-outs.

One server runs for the module, serving no model (the limits and sessions
need none). :func:`run` drives it through the steps in order (the log-in
limit, which the other steps' log-ins also draw on, comes last) and records
what each saw; the tests check the records.

Each request opens a new connection, so the operating system spreads them
over both workers; ``/metrics`` tells which workers refused, by its
``worker`` label.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.test_workers import AIMS, Server
from tests.ui.test_access import csrf_of, login

RATE, BURST = 0.5, 40
"""The per-key limit of the server: a burst of 40, then one request every 2 s."""
TOKEN_RATE, TOKEN_BURST = 2.0, 10
"""The log-in limit per client address (``aims.server.app.TOKEN_RATE``)."""


def _workspace(root: Path) -> dict[str, str]:
    from aims.services import keys
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    with (root / "aims.yaml").open("a") as f:
        f.write(f"\nserver:\n  rate_limit: {RATE}\n  rate_burst: {BURST}\n")
    ws = Workspace.open(root)
    made = {
        who: keys.create_key(ws, project="default", role="viewer", actor="ana@x.org")[1]
        for who in ("burst", "dashboard")
    }
    # /metrics shows a project's key that project's models only: the scraper sees every series.
    made["scraper"] = keys.create_key(ws, project="*", role="viewer", actor="ana@x.org")[1]
    ws.close()
    return made


def _refusing_workers(server: Server, reason: str) -> set[str]:
    """The workers whose ``/metrics`` series count refusals for ``reason``."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics", headers=server.headers, timeout=30).text
    return {
        s.labels["worker"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "aims_auth_failures_total" and s.labels.get("reason") == reason and s.value
    }


def _statuses(url: str, count: int, **kwargs: Any) -> list[int]:
    """``count`` requests, each on a new connection; their status codes."""
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=30, limits=no_reuse) as client:
        method = client.post if "json" in kwargs else client.get
        return [method(url, **kwargs).status_code for _ in range(count)]


def _until_both_refuse(server: Server, reason: str, more: Any) -> set[str]:
    """Send ``more()`` until both workers have counted a refusal for ``reason`` (at most
    30 s); the workers that did."""
    seen: set[str] = set()

    def both() -> bool:
        nonlocal seen
        seen = _refusing_workers(server, reason)
        if seen != {"0", "1"}:
            more()
        return seen == {"0", "1"}

    with contextlib.suppress(RuntimeError):  # timed out: the test says what was seen
        server.wait_for(both, f"refusals ({reason}) from both workers", timeout=30, pause=0.5)
    return seen


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("workers-shared") / "ws"
    made = _workspace(root)
    server = Server(root, made["scraper"])
    seen: dict[str, Any] = {}
    try:
        # 1. One key's burst, spread over both workers.
        token = httpx.post(f"{server.url}/v1/auth/token", json={"api_key": made["burst"]}).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        started = time.monotonic()
        burst = _statuses(f"{server.url}/v1/models", 2 * BURST, headers=bearer)
        seen["burst"] = (burst, time.monotonic() - started)
        seen["burst_refused_by"] = _until_both_refuse(
            server, "rate_limited", lambda: _statuses(f"{server.url}/v1/models", 5, headers=bearer)
        )

        # 2. A dashboard session logged out on one worker, then tried on both.
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            assert login(browser, made["dashboard"]).status_code == 303
            session = {"Authorization": f"Bearer {browser.cookies['aims_session']}"}
            seen["before_logout"] = _statuses(f"{server.url}/v1/models", 6, headers=session)
            out = browser.post("/ui/logout", data={"csrf": csrf_of(browser, "/ui/")})
            logged_out = time.monotonic()
            seen["logout"] = out.status_code
            # The same connection, so the worker that logged it out: refused at once.
            seen["same_worker"] = browser.get("/v1/models", headers=session).status_code
        seen["logout_refused_by"] = _until_both_refuse(
            server, "revoked", lambda: _statuses(f"{server.url}/v1/models", 5, headers=session)
        )
        seen["logout_everywhere_seconds"] = time.monotonic() - logged_out
        # Both workers refused it; from then on, it is refused wherever it lands.
        seen["after_logout"] = _statuses(f"{server.url}/v1/models", 10, headers=session)

        # 3. Failed log-ins from one address, spread over both workers.
        wrong = {"json": {"api_key": "not-a-key"}}
        started = time.monotonic()
        attempts = _statuses(f"{server.url}/v1/auth/token", 3 * TOKEN_BURST, **wrong)
        seen["logins"] = (attempts, time.monotonic() - started)
        seen["logins_refused_by"] = _until_both_refuse(
            server,
            "token_rate_limited",
            lambda: _statuses(f"{server.url}/v1/auth/token", 3, **wrong),
        )
        return seen
    finally:
        server.kill()


def test_both_workers_together_admit_one_burst_of_a_key(run) -> None:
    statuses, seconds = run["burst"]
    admitted = statuses.count(200)
    # One worker's limit: the burst and what refilled meanwhile. Two workers
    # each holding their own would have admitted twice the burst (both refused).
    assert BURST <= admitted <= BURST + RATE * seconds + 1, (admitted, seconds)
    assert set(statuses) == {200, 429}
    assert run["burst_refused_by"] == {"0", "1"}


def test_a_logged_out_session_is_refused_by_both_workers(run) -> None:
    assert run["before_logout"] == [200] * 6
    assert run["logout"] == 303
    assert run["same_worker"] == 401
    assert run["logout_refused_by"] == {"0", "1"}
    assert run["after_logout"] == [401] * 10


def test_both_workers_together_admit_one_burst_of_log_ins(run) -> None:
    statuses, seconds = run["logins"]
    # Refused as wrong (401) while the address's bucket lasts, then limited (429).
    allowed = statuses.count(401)
    assert allowed <= TOKEN_BURST + TOKEN_RATE * seconds + 1, (allowed, seconds)
    assert statuses[-1] == 429
    assert run["logins_refused_by"] == {"0", "1"}


def test_the_help_says_limits_and_log_outs_hold_across_workers() -> None:
    wide = {**os.environ, "COLUMNS": "400"}
    out = subprocess.run(
        [*AIMS, "serve", "--help"], capture_output=True, text=True, timeout=60, env=wide
    )
    assert "rate limits and dashboard log-outs hold across workers" in out.stdout

"""``aims serve``: the prediction server."""

from __future__ import annotations

import ipaddress
import logging
import sys

import typer

from aims.cli._state import open_workspace
from aims.cli.remote import local_only
from aims.errors import ConfigError

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the interpreter before another one gets it (default 0.005)."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens, e.g. ``http://127.0.0.1:8000``.

    Examples
    --------
    >>> _base_url("::1", 8000), _base_url("0.0.0.0", 80)
    ('http://[::1]:8000', 'http://0.0.0.0:80')
    """
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _ServeHandler(logging.StreamHandler):
    """The stderr handler ``aims serve`` adds (a class of its own, so it is added once)."""


def _log_to_stderr(level: str) -> None:
    """Send the server's own lines (what it serves, changes, refusals) to stderr, as uvicorn's."""
    from uvicorn.logging import DefaultFormatter

    logger = logging.getLogger("aims")
    if any(isinstance(h, _ServeHandler) for h in logger.handlers):
        return
    handler = _ServeHandler(sys.stderr)
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    logger.addHandler(handler)
    known = level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    logger.setLevel(level.upper() if known else "INFO")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on."),
    insecure_dev: bool = typer.Option(
        False,
        "--insecure-dev",
        help="Serve WITHOUT authentication (every caller is admin). Own machine only: "
        "refused unless --host is a loopback address.",
    ),
    monitor: bool = typer.Option(
        False,
        "--monitor",
        help="Also run the monitoring loop in this process (see 'aims monitor run').",
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    access_log: bool = typer.Option(
        False, "--access-log", help="Log every request (costs throughput)."
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        help="Server processes sharing the port (one per core for CPU-bound models). Each "
        "loads every served model, batches, logs and follows promotions on its own; "
        "/metrics labels series by worker; rate limits and dashboard log-outs hold "
        "across workers; a crashed worker is restarted "
        "(docs/serving.md).",
    ),
) -> None:
    """Serve every model's production version (plus canary and shadow) over HTTP.

    Needs an API key to exist ('aims keys create'); callers exchange it for a
    token at POST /v1/auth/token. Promotions and rollbacks take effect within
    about a second, without a restart. The dashboard is at /ui (log in with an
    API key). With the mcp extra, agents reach aims over MCP at /mcp with a token
    from POST /oauth/token (docs/mcp.md). Settings: the server: section of
    aims.yaml. Behind a reverse proxy,
    list it in server.trusted_proxies (or $AIMS_TRUSTED_PROXIES) so that its
    X-Forwarded-For and X-Forwarded-Proto headers are believed; from anyone
    else they are ignored.
    """
    local_only("serve", "it serves a workspace of this machine")
    if insecure_dev and not _loopback(host):
        raise ConfigError(
            f"--insecure-dev turns authentication off, so it is refused on {host!r}, which "
            "other machines can reach; serve on 127.0.0.1 (the default), or create an API "
            "key ('aims keys create') and serve without --insecure-dev"
        )
    if workers < 1:
        raise ConfigError(f"--workers is a number of processes, 1 or more, not {workers}")
    if workers > 1:
        _serve_workers(workers, host, port, insecure_dev, monitor, log_level, access_log)
        return
    import uvicorn

    from aims.server.assembly import build_server, stop_monitor
    from aims.server.http_protocol import protocol_class

    ws = open_workspace()
    _log_to_stderr(log_level)
    app = build_server(ws, insecure_dev=insecure_dev, monitor=monitor)
    logging.getLogger("aims.server").info("dashboard at %s/ui", _base_url(host, port))
    # Background threads (the prediction log writer, shadow versions) hand the
    # interpreter back to requests after 1 ms instead of the default 5 ms,
    # which keeps their work out of the request latency tail.
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=access_log,
            timeout_graceful_shutdown=30,
            # The app reads forwarding headers itself, from server.trusted_proxies
            # only; uvicorn's own handling would believe them from loopback.
            proxy_headers=False,
            server_header=False,
            http=protocol_class(),
        )
    finally:
        stop_monitor(app)
        ws.close()


def _serve_workers(
    count: int,
    host: str,
    port: int,
    insecure_dev: bool,
    monitor: bool,
    log_level: str,
    access_log: bool,
) -> None:
    """``aims serve --workers N``: a supervisor and N server processes (aims.server.workers)."""
    from functools import partial

    from aims.server.workers import WorkerSpec, serve_workers

    ws = open_workspace()  # a missing workspace is refused here, once, not by every worker
    root = str(ws.root)
    ws.close()
    _log_to_stderr(log_level)
    spec = WorkerSpec(
        workspace=root,
        log_level=log_level,
        access_log=access_log,
        insecure_dev=insecure_dev,
        monitor=monitor,
        switch_interval=SWITCH_INTERVAL,
        prepare=partial(_log_to_stderr, log_level),
    )
    serve_workers(
        spec, count, host, port, banner=f"dashboard at {_base_url(host, port)}/ui ({count} workers)"
    )

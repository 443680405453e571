"""``aims serve --workers N``: several server processes behind one listening socket.

The supervisor (the process ``aims serve`` started) binds the socket once and
starts N worker processes (spawned, so none inherits a half-initialised
library or a database connection), handing each the same socket; the
operating system gives every new connection to one of them. Each worker is
the whole single-process server: its own routing table kept in step with the
store (so a promotion or rollback reaches every worker within its poll
interval), its own prediction log writer (files named ``part-<time>-w<k>-…``,
so no two processes ever write one file), its own shadow thread and batching.
``/metrics`` answers every worker's series (:mod:`aims.server.worker_metrics`).
What must hold for the server as a whole is shared: the per-key and log-in
rate limits take tokens from buckets in memory every worker maps
(:mod:`aims.server.shared_buckets`), and a dashboard log-out is stored, so
every worker refuses its token from its next poll of the store.
The monitor loop and the scheduled audit checkpoints run in worker 0 only.

The supervisor:

- restarts a worker that dies after it served (logged as a warning);
- stops everything and exits non-zero with the worker's own message when a
  worker cannot start during the first start (a bad setting fails every
  worker the same way), and when a restarted worker fails to start
  :data:`START_ATTEMPTS` times in a row;
- forwards SIGTERM and SIGINT (Ctrl-C) to every worker as SIGTERM: each
  finishes its requests in flight, runs its queued shadow calls and flushes
  its prediction log, exactly as a single server does. A second signal kills
  the workers at once.

Workers ignore SIGINT themselves (a terminal sends Ctrl-C to the whole
process group; the supervisor's SIGTERM is the one stop they act on), and a
worker whose supervisor has died stops by itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import uvicorn

from aims.errors import AimsError, ConfigError
from aims.server.http_protocol import protocol_class

__all__ = ["START_ATTEMPTS", "WorkerSpec", "listen", "serve_workers"]

log = logging.getLogger("aims.server")

START_ATTEMPTS = 3
"""Failed starts in a row after which the supervisor gives a worker up (and stops)."""
STOP_GRACE = 45.0
"""Seconds a worker may take to stop after SIGTERM (uvicorn's 30 s for requests, then the flushes)."""


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker needs to build and run the server (sent to each process)."""

    workspace: str
    log_level: str = "info"
    access_log: bool = False
    insecure_dev: bool = False
    monitor: bool = False
    switch_interval: float = 0.001
    prepare: Callable[[], None] | None = None
    """Run first in each worker, e.g. to send the server's log lines to stderr."""
    metrics_dir: str = ""
    buckets_file: str = ""
    """The rate limits' bucket file every worker maps (:mod:`aims.server.shared_buckets`)."""


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """Bind and listen on ``host:port`` once, for every worker to accept from."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
            "or stop the process that holds it"
        ) from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


# -- the worker process ----------------------------------------------------------


class _WorkerTag(logging.Filter):
    """Prefix the server's own lines with the worker that wrote them."""

    def __init__(self, worker: int) -> None:
        super().__init__()
        self.prefix = f"worker {worker}: "

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and not record.msg.startswith(self.prefix):
            record.msg = self.prefix + record.msg
        return True


def _portable(exc: BaseException) -> AimsError:
    """``exc`` as an error the supervisor can receive and show as it is."""
    if isinstance(exc, AimsError):
        try:
            import pickle

            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:  # an error holding something that does not pickle
            return AimsError(exc.message)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return AimsError(
        f"a worker could not start: {type(exc).__name__}: {text} (run 'aims serve' without "
        "--workers, with --debug, to see where)"
    )


def _worker_main(spec: WorkerSpec, worker: int, sock: socket.socket, conn: Connection) -> None:
    """The body of worker process ``worker``: build the server, serve on ``sock``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    supervisor = os.getppid()
    try:
        if spec.prepare is not None:
            spec.prepare()
        logging.getLogger("aims").addFilter(_WorkerTag(worker))
        for handler in logging.getLogger("aims").handlers:
            handler.addFilter(_WorkerTag(worker))
        app, ws = _build(spec, worker)
    except BaseException as exc:
        conn.send(("failed", _portable(exc)))
        sys.exit(3)
    from aims.server.assembly import stop_monitor

    sys.setswitchinterval(spec.switch_interval)
    config = uvicorn.Config(
        app,
        log_level=spec.log_level,
        access_log=spec.access_log,
        timeout_graceful_shutdown=30,
        proxy_headers=False,
        server_header=False,
        http=protocol_class(),
    )
    server = _WorkerServer(config, conn=conn, supervisor=supervisor)
    # uvicorn raises the signal it stopped on again once it is done; ignored
    # here, so the workspace below is closed and the worker exits 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        stop_monitor(app)
        ws.close()


def _build(spec: WorkerSpec, worker: int) -> tuple[Any, Any]:
    from contextlib import asynccontextmanager

    from aims.server.assembly import build_server
    from aims.server.lifespan import add_lifespan_hook
    from aims.server.worker_metrics import WorkerMetrics
    from aims.workspace import Workspace

    ws = Workspace.open(Path(spec.workspace))
    first = worker == 0
    app = build_server(
        ws, insecure_dev=spec.insecure_dev, monitor=spec.monitor and first, checkpoints=first
    )

    @asynccontextmanager
    async def as_worker(app: Any) -> Any:
        state = app.state.aims
        state.writer.file_tag = f"-w{worker}"
        shared = WorkerMetrics(state.metrics.registry, worker, spec.metrics_dir)
        state.metrics.workers = shared
        buckets = _share_limits(state, spec.buckets_file)
        _share_gateway_limits(app, buckets)
        shared.start()
        try:
            yield
        finally:
            shared.stop()
            if buckets is not None:
                buckets.close()

    add_lifespan_hook(app, as_worker)
    return app, ws


def _share_limits(state: Any, path: str) -> Any:
    """Swap the worker's per-key and log-in rate limiters for ones every worker shares.

    Returns the mapped bucket file (to close at the end), None without one.
    """
    if not path:
        return None
    from aims.server.app import TOKEN_RATE
    from aims.server.shared_buckets import SharedBuckets, SharedRateLimiter

    buckets = SharedBuckets(path)
    config = state.config
    state.guard.limiter = SharedRateLimiter(buckets, "key", config.rate_limit, config.rate_burst)
    state.token_limiter = SharedRateLimiter(buckets, "address", *TOKEN_RATE)
    return buckets


def _share_gateway_limits(app: Any, buckets: Any) -> None:
    """Give the MCP gateway's per-agent, per-tool and listing limits the workers' shared buckets.

    The gateway's proxy exists by now: its start-up hook was added before the
    worker's, and hooks start in the order they were added.
    """
    proxy = getattr(getattr(app.state, "gateway", None), "proxy", None)
    if buckets is None or proxy is None:
        return
    from aims.server.shared_buckets import SharedRateLimiter

    p = proxy.policy
    proxy.agent_limiter = SharedRateLimiter(buckets, "gateway-agent", p.agent_rate, p.agent_burst)
    proxy.tool_limiter = SharedRateLimiter(buckets, "gateway-tool", p.tool_rate, p.tool_burst)
    proxy.listing_limiter = SharedRateLimiter(buckets, "gateway-list", p.list_rate, p.list_burst)


class _WorkerServer(uvicorn.Server):
    """uvicorn's server, told by its supervisor when to stop and reporting when it serves."""

    def __init__(self, config: Any, *, conn: Connection, supervisor: int) -> None:
        super().__init__(config)
        self.conn = conn
        self.supervisor = supervisor

    def handle_exit(self, sig: int, frame: Any) -> None:
        if sig == signal.SIGINT:
            return  # Ctrl-C reached the whole group: the supervisor sends SIGTERM
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.conn.send(("ready", os.getpid()))

    async def on_tick(self, counter: int) -> bool:
        if counter % 10 == 0 and os.getppid() != self.supervisor:
            logging.getLogger("aims.server").warning("the supervisor is gone: stopping")
            self.should_exit = True
        return bool(await super().on_tick(counter))


# -- the supervisor --------------------------------------------------------------


@dataclass
class _Worker:
    number: int
    process: Any = None
    conn: Connection | None = None
    ready: bool = False
    failures: int = 0
    error: AimsError | None = None
    restart_at: float | None = None


class Supervisor:
    """Starts, watches, restarts and stops the worker processes of one server."""

    def __init__(
        self,
        spec: WorkerSpec,
        count: int,
        sock: socket.socket,
        target: Callable[[WorkerSpec, int, socket.socket, Connection], None] | None = None,
    ) -> None:
        self.spec = spec
        self.target = target or _worker_main
        """What each worker process runs (module level, so a spawned process can import it)."""
        self.sock = sock
        self.workers = [_Worker(k) for k in range(count)]
        self.context = multiprocessing.get_context("spawn")
        self.signals = 0
        self.serving = False
        """Every worker has been ready once: from now on, a failed start is retried."""

    def _start(self, worker: _Worker) -> None:
        receive, send = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=self.target,
            args=(self.spec, worker.number, self.sock, send),
            name=f"aims-worker-{worker.number}",
        )
        process.start()
        send.close()
        worker.process, worker.conn, worker.ready, worker.restart_at = process, receive, False, None

    def _on_signal(self, sig: int, frame: Any) -> None:
        self.signals += 1
        if self.signals > 1:  # asked twice: stop now
            for worker in self.workers:
                if worker.process is not None and worker.process.is_alive():
                    worker.process.kill()

    def run(self) -> None:
        """Serve until a signal stops the workers; raises when workers cannot start."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for worker in self.workers:
                self._start(worker)
            while not self.signals:
                self._step()
        finally:
            self._stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _step(self) -> None:
        live = [w for w in self.workers if w.process is not None]
        waitables: list[Any] = [w.process.sentinel for w in live]
        waitables += [w.conn for w in live if w.conn is not None]
        wait(waitables, timeout=0.2)
        for worker in live:
            self._read(worker)
            if not worker.process.is_alive():
                self._ended(worker)
        now = time.monotonic()
        for worker in self.workers:
            if worker.restart_at is not None and now >= worker.restart_at and not self.signals:
                self._start(worker)
        if not self.serving and all(w.ready for w in self.workers):
            self.serving = True
            log.info(
                "%d workers serving (pids %s)",
                len(self.workers),
                ", ".join(str(w.process.pid) for w in self.workers),
            )

    def _read(self, worker: _Worker) -> None:
        conn = worker.conn
        while conn is not None and conn.poll():
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                worker.conn = conn = None
                break
            if kind == "ready":
                worker.ready, worker.failures = True, 0
            elif kind == "failed":
                worker.error = value

    def _ended(self, worker: _Worker) -> None:
        self._read(worker)  # a failure it reported just before it ended
        process = worker.process
        code = process.exitcode
        worker.process = None
        if self.signals:
            return
        if worker.ready:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            log.warning("worker %d (pid %d) %s: restarting it", worker.number, process.pid, how)
            worker.restart_at = time.monotonic()
            return
        worker.failures += 1
        if worker.error is None:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            worker.error = AimsError(
                f"worker {worker.number} {how} before it served (its lines above say why); "
                "try 'aims serve' without --workers to see the failure alone"
            )
        if not self.serving or worker.failures >= START_ATTEMPTS:
            raise worker.error
        log.warning("worker %d failed to start (%s): retrying", worker.number, worker.error.message)
        worker.error = None
        worker.restart_at = time.monotonic() + 0.5 * worker.failures

    def _stop(self) -> None:
        running = [w.process for w in self.workers if w.process is not None]
        for process in running:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("worker (pid %d) did not stop in time: killed", process.pid)
                process.kill()
                process.join()
        for worker in self.workers:
            if worker.conn is not None:
                worker.conn.close()


def serve_workers(spec: WorkerSpec, count: int, host: str, port: int, banner: str = "") -> None:
    """Run ``count`` workers on ``host:port`` until stopped (see the module docstring).

    ``banner`` is logged once the port is held, before the workers start.
    """
    sock = listen(host, port)
    if banner:
        log.info("%s", banner)
    from aims.server.shared_buckets import create_bucket_file

    folder = tempfile.mkdtemp(prefix="aims-metrics-")
    buckets = create_bucket_file()
    try:
        shared = replace(spec, metrics_dir=folder, buckets_file=str(buckets))
        Supervisor(shared, count, sock).run()
    finally:
        sock.close()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(buckets.parent, ignore_errors=True)

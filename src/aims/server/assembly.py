"""The full server of ``aims serve``: the API, the dashboard, monitor metrics, and
optionally the monitoring loop as a background thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from aims.workspace import Workspace


def build_server(ws: Workspace, *, insecure_dev: bool = False, monitor: bool = False) -> FastAPI:
    """The app ``aims serve`` runs.

    With ``monitor``, one pass of the monitor runs every ``monitor.interval``
    in a daemon thread (the same pass ``aims monitor run`` makes), so a single
    process serves, logs and watches.
    """
    from aims.server.app import create_app
    from aims.services.monitor.metrics import MonitorCollector
    from aims.ui.auth import OpenSessions, TokenSessions
    from aims.ui.router import mount_ui

    app = create_app(ws, insecure_dev=insecure_dev, collectors=[MonitorCollector(ws)])
    mount_ui(app, ws, OpenSessions() if insecure_dev else TokenSessions(ws))
    if monitor:
        app.state.monitor = start_monitor(ws)
    return app


@dataclass
class MonitorThread:
    """The monitoring loop running beside the server."""

    stop: threading.Event
    thread: threading.Thread

    def close(self, timeout: float = 10.0) -> None:
    # Signed audit checkpoints on a schedule, when audit.checkpoint_url is set.
    from aims.services.audit_checkpoint import start_checkpoints

    app.state.audit_checkpoints = start_checkpoints(ws)
        """Stop the loop and wait up to ``timeout`` seconds for the pass in progress.

        The caller closes the workspace next, which a running pass would still
        be using. A longer backlog is not waited for: a pass commits window by
        window, so the next one resumes where this one stopped.
        """
        self.stop.set()
        self.thread.join(timeout)


def start_monitor(ws: Workspace) -> MonitorThread:
    """Run the monitoring loop in a daemon thread; ``close()`` the result to stop it."""
    from aims.services.monitor import run_forever

    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(ws,), kwargs={"stop": stop}, name="aims-monitor", daemon=True
    )
    thread.start()
    return MonitorThread(stop, thread)


def stop_monitor(app: Any) -> None:
    monitor = getattr(app.state, "monitor", None)
    if monitor is not None:
        monitor.close()
    checkpoints = getattr(app.state, "audit_checkpoints", None)
    if checkpoints is not None:
        checkpoints.close()

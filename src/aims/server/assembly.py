"""The full server of ``aims serve``: the API, the dashboard, monitor metrics, and
optionally the monitoring loop as a background thread."""

from __future__ import annotations

import threading
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
        app.state.monitor_stop = start_monitor(ws)
    return app


def start_monitor(ws: Workspace) -> threading.Event:
    """Run the monitoring loop in a daemon thread; set the returned event to stop it."""
    from aims.services.monitor import run_forever

    stop = threading.Event()

    def loop() -> None:
        run_forever(ws, stop=stop)

    threading.Thread(target=loop, name="aims-monitor", daemon=True).start()
    return stop


def stop_monitor(app: Any) -> None:
    event = getattr(app.state, "monitor_stop", None)
    if event is not None:
        event.set()

"""The full server of ``aims serve``: the API, the dashboard, monitor metrics, and
optionally the monitoring loop as a background thread.

This is the composition root: the one module of the server that imports the
dashboard (:mod:`aims.ui.router`), and where the server's sessions are adapted
to the dashboard's ``UiAuth`` port (:class:`DashboardAuth`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from aims.workspace import Workspace


def build_server(
    ws: Workspace, *, insecure_dev: bool = False, monitor: bool = False, checkpoints: bool = True
) -> FastAPI:
    """The app ``aims serve`` runs.

    With ``monitor``, one pass of the monitor runs every ``monitor.interval``
    in a daemon thread (the same pass ``aims monitor run`` makes), so a single
    process serves, logs and watches. ``checkpoints`` runs the scheduled audit
    checkpoints (when configured); of several worker processes, only one does.
    """
    from aims.server.app import create_app
    from aims.server.config import ServerConfig
    from aims.server.sessions import TokenSessions
    from aims.services.monitor.metrics import MonitorCollector
    from aims.ui.router import OpenSessions, mount_ui

    config = ServerConfig.from_workspace(ws)
    app = create_app(
        ws, insecure_dev=insecure_dev, config=config, collectors=[MonitorCollector(ws)]
    )
    secure = {"auto": None, "true": True, "false": False}[config.secure_cookies]
    sso = None
    if config.oidc is not None and not insecure_dev:
        from aims.server.oidc_login import DashboardSso

        sso = DashboardSso(app, config.oidc)
    auth = OpenSessions() if insecure_dev else DashboardAuth(TokenSessions(app), sso)
    mount_ui(app, ws, auth, secure_cookies=secure)
    mount_mcp(app)
    # The MCP gateway needs no SDK: it speaks MCP's JSON-RPC itself, on both sides.
    from aims.server.gateway.endpoint import mount_gateway

    mount_gateway(app)
    if monitor:
        app.state.monitor = start_monitor(ws)
    # Signed audit checkpoints on a schedule, when audit.checkpoint_url is set.
    from aims.services.audit_checkpoint import start_checkpoints

    app.state.audit_checkpoints = start_checkpoints(ws) if checkpoints else None
    return app


def mount_mcp(app: FastAPI) -> bool:
    """Serve MCP at ``/mcp`` when the ``mcp`` extra is installed; says whether it is served."""
    import importlib.util
    import logging

    if importlib.util.find_spec("mcp") is None:
        logging.getLogger("aims.server").info(
            "/mcp is not served: the MCP SDK is missing (pip install 'aims[mcp]')"
        )
        return False
    from aims.server.mcp.transport import mount

    mount(app)
    return True


class DashboardAuth:
    """The dashboard's ``UiAuth`` port, implemented by the server's token sessions."""

    def __init__(self, sessions: Any, sso: Any = None) -> None:
        self.sessions = sessions
        self.sso = sso
        """The sign-in through the identity provider (:mod:`aims.server.oidc_login`), if on."""

    def login(self, api_key: str, request: Any) -> tuple[str, int]:
        """Exchange ``api_key`` as ``POST /v1/auth/token`` does; ``LoginRefused`` if refused."""
        from aims.server.problems import ApiError
        from aims.ui.router import LoginRefused

        client = request.client.host if request.client else "unknown"
        try:
            return self.sessions.login(api_key, client=client, path=request.url.path)
        except ApiError as exc:
            retry = exc.headers.get("Retry-After")
            raise LoginRefused(exc.status, int(retry) if retry else None) from None

    def viewer(self, token: str | None) -> Any:
        """The dashboard viewer of a session token, or None."""
        from aims.services.keys import ALL_PROJECTS
        from aims.ui.router import Viewer

        p = self.sessions.principal(token)
        if p is None:
            return None
        # A person signed in through the provider acts under their name; a key under its id.
        subject = p.name if p.grants is not None and p.name else p.key_id
        project = None if p.project == ALL_PROJECTS else p.project
        return Viewer(subject, project, p.role_on(p.project) or p.role)

    def logout(self, token: str | None) -> None:
        """Revoke the session's token."""
        self.sessions.logout(token)

    def sso_label(self) -> str | None:
        """The provider's name for the sign-in button, when single sign-on is on."""
        return self.sso.label if self.sso is not None else None

    def sso_start(self, callback_url: str) -> tuple[str, str]:
        """Start a sign-in through the provider: (its URL, the flow id)."""
        from aims.server.problems import ApiError
        from aims.ui.router import LoginRefused

        if self.sso is None:
            raise LoginRefused(404, reason="single sign-on is not configured")
        try:
            return self.sso.start(callback_url)
        except ApiError as exc:
            raise LoginRefused(exc.status, reason=exc.message) from None

    def sso_finish(self, flow_id: str | None, params: Any, request: Any) -> tuple[str, int]:
        """Complete a sign-in: a session for the person, as an API key login gives."""
        from aims.server.problems import ApiError
        from aims.ui.router import LoginRefused

        if self.sso is None:
            raise LoginRefused(404, reason="single sign-on is not configured")
        try:
            principal = self.sso.finish(flow_id, params)
        except ApiError as exc:
            raise LoginRefused(exc.status, reason=exc.message) from None
        return self.sessions.open_for(principal, path=request.url.path)


@dataclass
class MonitorThread:
    """The monitoring loop running beside the server."""

    stop: threading.Event
    thread: threading.Thread

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait up to ``timeout`` seconds for the pass in progress.

        The caller closes the workspace next, which a running pass would still
        be using. A longer backlog is not waited for: a pass commits window by
        window, so the next one resumes where this one stopped.
        """
        self.stop.set()
        self.thread.join(timeout)


def start_monitor(ws: Workspace) -> MonitorThread:
    """Run the monitoring loop in a daemon thread; ``close()`` the result to stop it."""
    from aims.services.llm_monitor import full_pass
    from aims.services.monitor import run_forever

    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        args=(ws,),
        kwargs={"stop": stop, "one_pass": full_pass},
        name="aims-monitor",
        daemon=True,
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

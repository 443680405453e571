"""What the gateway administration routes share: the project of a server, the lists
filtered by it, and refusals noted for the audit log: the routes' own, and those
the services raise by their rules (:func:`act`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from sqlalchemy import select

from aims.core.roles import ALL_PROJECTS
from aims.errors import AimsError, Conflict, PermissionDenied
from aims.server.auth import Principal, client_of
from aims.server.governance._common import in_thread, workspace
from aims.server.governance._scope import check_row, visible_projects
from aims.server.problems import ApiError

__all__ = ["act", "check_server", "refuse", "shown"]


def _no_server(name: str) -> str:
    return f"no server named {name}; see 'aims gateway server list'"


def _server_projects(ws: Any) -> dict[str, str]:
    from aims.storage.schema import GatewayServer

    with ws.db.session() as s:
        return dict(s.execute(select(GatewayServer.name, GatewayServer.project)).tuples().all())


async def check_server(request: Request, principal: Principal, name: str, role: str) -> str:
    """The project of server ``name``, once ``principal`` holds ``role`` there (else 404/403)."""
    from aims.storage.schema import GatewayServer

    project_of = select(GatewayServer.project).where(GatewayServer.name == name)
    return await check_row(request, principal, project_of, role, _no_server(name))


async def shown(
    request: Request, principal: Principal, project: str | None, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows (each naming a ``server``) of the projects ``principal`` sees.

    A row of a server since removed counts as of every project: only a caller
    of every project sees it.
    """
    visible = visible_projects(principal, project)
    if visible is None:
        return rows
    projects = await in_thread(_server_projects, workspace(request))
    return [r for r in rows if projects.get(r["server"], ALL_PROJECTS) in visible]


def refuse(request: Request, principal: Principal, reason: str, message: str) -> ApiError:
    """A 403 with ``message``, counted and noted (``reason``) for the audit log, to raise."""
    error = ApiError(403, "permission_denied", message)
    error.reason = reason
    return request.app.state.aims.guard.refuse(
        error, client=client_of(request), path=request.url.path, key_id=principal.key_id
    )


async def act(
    request: Request,
    principal: Principal,
    reasons: Mapping[type[AimsError], str],
    fn: Callable[..., Any],
    /,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """Run the service ``fn(*args, **kwargs)`` off the event loop, noting its refusals.

    The services hold rules of their own (only a server's owner approves its
    tools; a pin already approved, a call already decided, a name already
    taken are refused). Such a refusal (a ``PermissionDenied`` or a
    ``Conflict``) is answered as the service raised it, and noted for the audit
    log as the routes' own refusals are (``server.access.denied``), with the
    reason ``reasons`` gives its class (else the error's code).
    """
    try:
        return await in_thread(fn, *args, **kwargs)
    except (PermissionDenied, Conflict) as exc:
        noted = ApiError(exc.status, exc.code, exc.message)
        noted.reason = next((r for cls, r in reasons.items() if isinstance(exc, cls)), exc.code)
        request.app.state.aims.guard.refuse(
            noted, client=client_of(request), path=request.url.path, key_id=principal.key_id
        )
        raise

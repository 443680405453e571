"""What every governance route shares: the store in a worker thread, and the
project check of a named model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from aims.errors import NotFound
from aims.server.auth import Principal, client_of
from aims.server.problems import ApiError
from aims.services.keys import role_rank

T = TypeVar("T")


def workspace(request: Request) -> Any:
    """The server's workspace."""
    return request.app.state.aims.ws


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run store work off the event loop, so one slow act never stalls predictions."""
    return await run_in_threadpool(fn, *args, **kwargs)


def _model_project(ws: Any, name: str) -> str:
    from aims.services.registry import get_model

    with ws.db.session() as s:
        return str(get_model(s, name).project)


async def check_model(request: Request, principal: Principal, name: str, role: str) -> str:
    """The project of model ``name`` once ``principal`` may act on it with ``role``.

    A model of another project answers as one that does not exist (404), so
    that its name cannot be probed; too low a role on its project is a 403.
    Returns the project.
    """
    hidden = f"model {name!r} is not registered"
    try:
        project = await in_thread(_model_project, workspace(request), name)
    except NotFound:
        raise NotFound(hidden) from None
    request.app.state.aims.guard.check_project(
        principal, project, client=client_of(request), path=request.url.path, hidden_as=hidden
    )
    _check_role(request, principal, project, role)
    return project


def check_project(request: Request, principal: Principal, project: str, role: str) -> None:
    """Refuse (403) a principal without ``role`` on ``project``."""
    request.app.state.aims.guard.check_project(
        principal, project, client=client_of(request), path=request.url.path
    )
    _check_role(request, principal, project, role)


def _check_role(request: Request, principal: Principal, project: str, role: str) -> None:
    held = principal.role_on(project)
    if held is None or role_rank(held) < role_rank(role):
        error = ApiError(
            403,
            "permission_denied",
            f"this needs the {role} role or higher on project {project}; "
            f"the token has {held or 'no role there'}",
        )
        error.reason = "role_too_low"
        raise request.app.state.aims.guard.refuse(
            error,
            client=client_of(request),
            path=request.url.path,
            key_id=principal.key_id,
        )

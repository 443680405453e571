"""What the routes of decisions, incidents, monitoring, administration, audit and
reports share: which projects a caller sees, the project of a stored row (an
incident, a key, a finding, a piece of evidence) checked before it is touched,
and the documented error answers of a route.

A list answers with the caller's own projects only: a token of project
``credit`` never learns that a model of project ``fraud`` exists. A ``project``
query parameter narrows a list to that project, and is refused (403) by
:func:`aims.server.auth.require` when the caller has no grant there.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import Select, select

from aims.core.roles import ALL_PROJECTS
from aims.errors import NotFound
from aims.server.auth import Principal, client_of
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.predict import _problem_doc

__all__ = [
    "answers",
    "check_hidden",
    "check_key",
    "check_row",
    "model_projects",
    "visible_projects",
]

_TEXTS = {
    401: "Missing, invalid, expired or revoked token.",
    403: "The token's role is too low for this act on the project it touches.",
    404: "Not found, or of a project the token has no grant on (answered alike).",
    409: "The store is in a state that forbids the change; nothing changed.",
    422: "The request is not valid; the problem names the field and the fix.",
    429: "The key's rate limit is exceeded (see Retry-After).",
}


def answers(*statuses: int, **texts: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: 401, 403 and 429 always, plus ``statuses``.

    ``texts`` overrides a description, keyed ``s404="..."``.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({401, 403, 429, *statuses}):
        out[status] = _problem_doc(texts.get(f"s{status}", _TEXTS.get(status, "Refused.")))
    return out


def visible_projects(principal: Principal, project: str | None) -> set[str] | None:
    """The projects a list shows ``principal`` (``None``: every project).

    ``project`` is the list's ``project`` query parameter, already checked by
    :func:`~aims.server.auth.require`.
    """
    if project is not None:
        return {project}
    if principal.grants is not None:  # a person signed in through the provider
        held = {p for p, _ in principal.grants}
        return None if ALL_PROJECTS in held else held
    if principal.project == ALL_PROJECTS:
        return None
    return {principal.project}


def model_projects(ws: Any) -> dict[str, str]:
    """Every registered model's project, by model name."""
    from aims.storage.schema import Model

    with ws.db.session() as s:
        return {name: project for name, project in s.execute(select(Model.name, Model.project))}


def check_hidden(
    request: Request, principal: Principal, project: str, role: str, hidden: str
) -> None:
    """Refuse ``principal`` on a thing of ``project``: as not found (``hidden``, 404)
    without a grant there, 403 when its role there is below ``role``."""
    request.app.state.aims.guard.check_project(
        principal, project, client=client_of(request), path=request.url.path, hidden_as=hidden
    )
    check_project(request, principal, project, role)


def _row_project(ws: Any, project_of: Select[Any], hidden: str) -> str:
    with ws.db.session() as s:
        project = s.scalar(project_of)
    if project is None:
        raise NotFound(hidden)
    return str(project)


async def check_row(
    request: Request,
    principal: Principal,
    project_of: Select[Any],
    role: str,
    hidden: str,
) -> str:
    """The project of the stored row ``project_of`` selects the project of, once
    ``principal`` may act on it with ``role``; returns the project.

    A row that does not exist and one of a project without a grant answer the
    same 404 (``hidden``), so a number or a name cannot be probed; too low a
    role there is a 403.
    """
    project = await in_thread(_row_project, workspace(request), project_of, hidden)
    check_hidden(request, principal, project, role, hidden)
    return project


async def check_key(request: Request, principal: Principal, key_id: str) -> str:
    """The project of API key ``key_id``, once ``principal`` administers it there."""
    from aims.storage.schema import ApiKey

    project_of = select(ApiKey.project).where(ApiKey.key_id == key_id)
    hidden = f"API key {key_id!r} does not exist; see 'aims keys list'"
    return await check_row(request, principal, project_of, "admin", hidden)

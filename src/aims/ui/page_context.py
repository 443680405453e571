"""What every page module of the dashboard gets from the router: one :class:`PageContext`.

The router (:mod:`aims.ui.router`) owns sessions, cookies and CSRF; a page
module adds its routes with ``add_routes(router, ctx)`` and reaches the
workspace, the templates and the access checks through ``ctx`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from aims.ui.port import Viewer
from aims.workspace import Workspace

__all__ = ["PageContext", "download"]


@dataclass(frozen=True)
class PageContext:
    """The router's services for page modules.

    ``render(request, template, viewer, **values)`` renders a template with
    the session's CSRF token; ``page(request, fn)`` calls ``fn(viewer)`` for a
    signed-in viewer (else redirects to the login) and turns a store error into
    a 404, 403 or 400 page; ``check_model(viewer, name)`` raises a 404 for a
    model the viewer may not see.
    """

    ws: Workspace
    base: str
    render: Callable[..., HTMLResponse]
    page: Callable[[Request, Callable[[Viewer], Response]], Response]
    check_model: Callable[[Viewer, str], None]


def download(chunks: Iterator[str], fmt: str, stem: str) -> StreamingResponse:
    """A streamed ``stem.csv`` or ``stem.json`` attachment of ``chunks``.

    The format is checked before the first byte is sent, so a wrong one is a
    400 page rather than a broken download.
    """
    from aims.errors import InvalidInput
    from aims.services.view_export import FORMATS

    if fmt not in FORMATS:
        raise InvalidInput(f"export as {' or '.join(FORMATS)}, not {fmt!r}")
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )

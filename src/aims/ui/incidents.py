"""The incidents page (``/incidents``): filters, cursor paging and export of the filtered view."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aims.services import incident_view
from aims.ui.page_context import PageContext, download
from aims.ui.port import Viewer

__all__ = ["add_routes"]


def add_routes(router: APIRouter, ctx: PageContext) -> None:
    """Add the incidents page and its export to ``router``."""

    @router.get("/incidents")
    def incidents(request: Request) -> Response:
        def show(v: Viewer) -> Response:
            query = incident_view.IncidentQuery.parse(dict(request.query_params))
            return ctx.render(
                request,
                "incidents.html",
                v,
                nav="incidents",
                p=incident_view.incident_page(ctx.ws, v.project, query),
                q=query,
                statuses=incident_view.STATUSES,
                severities=incident_view.SEVERITIES,
                subject_kinds=incident_view.SUBJECT_KINDS,
            )

        return ctx.page(request, show)

    @router.get("/incidents/export.{fmt}")
    def incidents_export(request: Request, fmt: str) -> Response:
        def send(v: Viewer) -> Response:
            query = incident_view.IncidentQuery.parse(dict(request.query_params))
            return download(incident_view.export(ctx.ws, v.project, query, fmt), fmt, "incidents")

        return ctx.page(request, send)

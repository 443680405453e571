"""The dashboard's LLM pages: an application (``/applications/NAME``), the trace list
(``/traces``) and one trace as a waterfall (``/traces/TRACE_ID``).

Same access rules as the other pages: a viewer sees the applications and
traces of their own project only (another project's application is a 404,
and traces are read from the viewer's project's partitions only), and every
role may read them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aims.ui.page_context import PageContext
from aims.ui.port import Viewer

__all__ = ["add_routes"]

OPERATIONS = ("chat", "text_completion", "embeddings", "execute_tool", "invoke_agent",
              "create_agent", "apply_guardrail")  # fmt: skip


def add_routes(router: APIRouter, ctx: PageContext) -> None:
    """Add the application page, the trace list and the trace page to ``router``.

    The pages' services are imported by the pages: they read the span store and
    the registry through PyArrow and Polars, which a server that only takes in
    traces would otherwise hold in memory from its start.
    """

    @router.get("/applications/{name}")
    def application(request: Request, name: str, version: int | None = None) -> Response:
        def show(v: Viewer) -> Response:
            from aims.services import application_view

            ctx.check_model(v, name)
            a = application_view.application_page(ctx.ws, name, version)
            return ctx.render(request, "application.html", v, nav="inventory", a=a)

        return ctx.page(request, show)

    @router.get("/traces")
    def traces(request: Request) -> Response:
        def show(v: Viewer) -> Response:
            from aims.services import application_view, trace_page

            q = trace_page.TraceQuery.parse(dict(request.query_params))
            data = trace_page.trace_list(ctx.ws, v.project, q)
            return ctx.render(
                request,
                "traces.html",
                v,
                nav="traces",
                t=data,
                q=q,
                applications=application_view.application_names(ctx.ws, v.project),
                operations=OPERATIONS,
            )

        return ctx.page(request, show)

    @router.get("/traces/{trace_id}")
    def trace(request: Request, trace_id: str, app: str = "", at: str = "") -> Response:
        def show(v: Viewer) -> Response:
            from aims.services import trace_page

            t = trace_page.trace_detail(ctx.ws, trace_id, v.project, application=app, at=at)
            return ctx.render(request, "trace.html", v, nav="traces", t=t)

        return ctx.page(request, show)

"""The inventory page (``/ui/``): every model the viewer may see, searched, filtered, sorted, paged."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aims.services import inventory_view
from aims.ui.page_context import PageContext
from aims.ui.port import Viewer

__all__ = ["add_routes"]


def add_routes(router: APIRouter, ctx: PageContext) -> None:
    """Add ``GET /`` (the inventory) to the dashboard's ``router``."""

    @router.get("/")
    def inventory(request: Request) -> Response:
        def show(v: Viewer) -> Response:
            query = inventory_view.InventoryQuery.parse(dict(request.query_params))
            data = inventory_view.inventory_page(ctx.ws, v.project, query)
            return ctx.render(
                request,
                "inventory.html",
                v,
                nav="inventory",
                inv=data,
                q=query,
                choices={
                    "kind": inventory_view.KINDS,
                    "stage": inventory_view.STAGES,
                    "tier": (*inventory_view.TIERS, "none"),
                    "health": inventory_view.HEALTH,
                    "sizes": inventory_view.PAGE_SIZES,
                },
            )

        return ctx.page(request, show)

"""The monitoring pages: a model's windows (``/models/NAME/monitoring``) and one feature's.

The model's page draws every feature's drift in every window as one heatmap
(features sorted by drift, importance or name), the most drifted features as
small charts, and the outputs, volume, performance and incidents beside them;
a feature's page (``/models/NAME/features/FEATURE``) has its history and its
distribution against the training data. Both read the compact per-window
figures of :mod:`aims.services.drift_matrix`, never every window's results.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from aims.ui.page_context import PageContext
from aims.ui.port import Viewer

__all__ = ["add_routes", "page_json"]

#: Explained on the page beside the heatmap's colour scale.
SCORE_TEXT = (
    "Drift score = the monitor's statistic relative to its threshold: statistic ÷ threshold "
    "for a distance, ln p ÷ ln 0.05 for a test with a p-value. It has no unit: 1 is the "
    "threshold whatever the test, 2 is twice as far past it, and a feature is drifted at 1 "
    "or more."
)


def page_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script type="application/json">``."""
    return json.dumps(data, default=str).replace("</", "<\\/")


def add_routes(router: APIRouter, ctx: PageContext) -> None:
    """Add the monitoring page, the feature page and the distribution API to ``router``.

    The statistics behind them (Polars, NumPy, the drift tests) are imported by the
    pages, not when the server starts.
    """

    @router.get("/models/{name}/monitoring")
    def monitoring(
        request: Request, name: str, role: str = "production", sort: str = "drift"
    ) -> Response:
        def show(v: Viewer) -> Response:
            from aims.services import drift_matrix, monitoring_view

            ctx.check_model(v, name)
            d = monitoring_view.monitoring_page(ctx.ws, name, role, sort=sort)
            return ctx.render(
                request,
                "monitoring.html",
                v,
                nav="inventory",
                d=d,
                sorts=drift_matrix.SORTS,
                score_text=SCORE_TEXT,
                first_feature=(d["top"] or d["features"] or [None])[0],
                d_json=page_json(d),
            )

        return ctx.page(request, show)

    @router.get("/models/{name}/features/{feature}")
    def feature(request: Request, name: str, feature: str, role: str = "production") -> Response:
        def show(v: Viewer) -> Response:
            from aims.services import monitoring_view

            ctx.check_model(v, name)
            f = monitoring_view.feature_page(ctx.ws, name, feature, role)
            return ctx.render(
                request,
                "feature.html",
                v,
                nav="inventory",
                f=f,
                score_text=SCORE_TEXT,
                f_json=page_json(f),
            )

        return ctx.page(request, show)

    @router.get("/api/models/{name}/distribution")
    def distribution(
        request: Request, name: str, feature: str, role: str = "production"
    ) -> Response:
        def show(v: Viewer) -> Response:
            from aims.services import dashboard

            ctx.check_model(v, name)
            return JSONResponse(dashboard.feature_distribution(ctx.ws, name, feature, role))

        return ctx.page(request, show)

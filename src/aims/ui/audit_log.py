"""The audit log page (``/audit``): filters, cursor paging, export, and the chain's state.

Whether the hash chain verifies is shown as ``aims audit verify`` says it,
but a first check of a long chain walks every event (about a minute at a
million events), so it runs in the background: the page says the check is
under way and asks ``/api/audit/chain`` until it is done. Later checks verify
only the events added since (:class:`~aims.services.audit.IncrementalVerifier`).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from aims.services import audit, audit_view
from aims.ui.page_context import PageContext, download
from aims.ui.port import Viewer

__all__ = ["ChainStatus", "add_routes"]

#: Events a check may have to walk and still run while the page waits for it.
WAIT_FOR = 50_000


class ChainStatus:
    """The hash chain's state for the page: checked at once when little is new, else behind it."""

    def __init__(self, verifier: audit.IncrementalVerifier) -> None:
        self._verifier = verifier
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._report: dict[str, Any] | None = None
        self._checked_to = 0

    def _run(self) -> None:
        report = self._verifier()
        with self._lock:
            self._report = report.to_dict()
            self._checked_to = report.to_dict().get("head_seq") or 0

    def __call__(self) -> dict[str, Any]:
        """``{"state": "done", ...the report}`` or ``{"state": "checking", "events": n}``."""
        head, _ = audit.head_of(self._verifier.db)
        events = head[0] if head else 0
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            if not running and events - self._checked_to > WAIT_FOR:
                self._thread = threading.Thread(target=self._run, daemon=True, name="chain-check")
                self._thread.start()
                running = True
            if running:
                return {"state": "checking", "events": events}
        self._run()
        with self._lock:
            return {"state": "done", **(self._report or {})}


def add_routes(router: APIRouter, ctx: PageContext) -> None:
    """Add the audit log page, its export and the chain's state to ``router``."""
    chain = ChainStatus(audit.IncrementalVerifier(ctx.ws.db))

    def scope(v: Viewer) -> str | None:
        return v.project

    @router.get("/audit")
    def audit_log(request: Request) -> Response:
        def show(v: Viewer) -> Response:
            params = dict(request.query_params)
            seq = params.pop("seq", "")
            if seq.isdigit() and "before" not in params and "after" not in params:
                params["before"] = str(int(seq) + 1)  # the page that ends... with that event on top
            query = audit_view.AuditQuery.parse(params)
            page = audit_view.audit_page(ctx.ws, scope(v), query)
            return ctx.render(
                request,
                "audit.html",
                v,
                nav="audit",
                a=page,
                q=query,
                highlight=int(seq) if seq.isdigit() else None,
                chain=chain(),
                sizes=audit_view.PAGE_SIZES,
            )

        return ctx.page(request, show)

    @router.get("/audit/export.{fmt}")
    def audit_export(request: Request, fmt: str) -> Response:
        def send(v: Viewer) -> Response:
            query = audit_view.AuditQuery.parse(dict(request.query_params))
            return download(audit_view.export(ctx.ws, scope(v), query, fmt), fmt, "audit-log")

        return ctx.page(request, send)

    @router.get("/api/audit/chain")
    def chain_state(request: Request) -> Response:
        return ctx.page(request, lambda v: JSONResponse(chain()))

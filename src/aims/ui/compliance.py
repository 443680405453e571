"""The compliance page (``/compliance``): the evidence report, summary first, groups folded.

The page shows, per group of controls, how many are met, partial, missing or
not applicable, then each group folded with its controls (filtered by status
if asked). The report itself is ``aims report compliance``'s. Gathering its
facts reads every model in scope, which takes long on a large workspace, so
the page keeps the last report per standard and project and rebuilds it in
the background when the audit log has moved on (every act that changes the
evidence is an audit event); meanwhile it shows the previous report, or says
that the first one is being built. A rebuild reads the facts kept as the log
grows (:mod:`aims.services.evidence_facts`) and walks only the audit events
no recorded walk of the chain covered; the page says when the chain was last
verified, and up to which event. Where the project has a server behind the MCP
gateway, the page ends with the report's gateway section, a table per part
(servers, tool pins, agents, incidents, calls) whose incidents link to the
incidents page.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from aims.errors import InvalidInput
from aims.services.evidence_chain import StoredChainCheck, last_walk
from aims.ui.page_context import PageContext
from aims.ui.port import Viewer
from aims.workspace import Workspace

__all__ = ["STANDARDS", "ReportCache", "add_routes", "gateway_part", "grouped"]

STANDARDS = ("iso42001", "nist-ai-rmf", "eu-ai-act")
#: A report that takes less than this is built while the page waits.
WAIT_SECONDS = 10.0


class ReportCache:
    """The newest evidence report per (standard, project), rebuilt when the audit log moves."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._lock = threading.Lock()
        self._reports: dict[tuple[str, str | None], tuple[int, dict[str, Any], float]] = {}
        self._building: dict[tuple[str, str | None], threading.Thread] = {}
        # Reports resume the chain's walk from the newest walk recorded in the store
        # (by this server, an earlier one or the command line): only new events are walked.
        self._chain = StoredChainCheck(ws.db)

    def _head(self) -> int:
        from aims.services.audit import head_of

        head, _ = head_of(self.ws.db)
        return head[0] if head else 0

    def _build(self, key: tuple[str, str | None], head: int) -> None:
        from aims.services import evidence

        started = time.monotonic()
        report = evidence.compliance_report(
            self.ws, key[0], project=key[1], chain=self._chain
        ).to_dict()
        with self._lock:
            self._reports[key] = (head, report, time.monotonic() - started)
            self._building.pop(key, None)

    def building(self, standard: str, project: str | None) -> bool:
        """Whether a report of ``standard`` for ``project`` is being built now."""
        with self._lock:
            return (standard, project) in self._building

    def get(self, standard: str, project: str | None) -> tuple[dict[str, Any] | None, bool]:
        """``(report or None, whether a newer one is being built)``."""
        key = (standard, project)
        head = self._head()
        with self._lock:
            held = self._reports.get(key)
            fresh = held is not None and held[0] == head
            thread = self._building.get(key)
            if not fresh and thread is None:
                thread = threading.Thread(
                    target=self._build, args=(key, head), daemon=True, name="evidence-report"
                )
                self._building[key] = thread
                thread.start()
        if not fresh and thread is not None:
            # Small workspaces build in well under a second: wait, rather than show stale.
            thread.join(WAIT_SECONDS if held is None or held[2] < WAIT_SECONDS else 0)
        with self._lock:
            held = self._reports.get(key)
            return (held[1] if held else None), key in self._building


def grouped(report: dict[str, Any], status: str) -> dict[str, Any]:
    """The report's controls by group, with counts per status, filtered by ``status``."""
    groups: dict[str, dict[str, Any]] = {}
    for c in report["controls"]:
        g = groups.setdefault(c["group"], {"name": c["group"], "counts": Counter(), "controls": []})
        g["counts"][c["status"]] += 1
        if not status or c["status"] == status:
            g["controls"].append(c)
    return {"groups": list(groups.values())}


def gateway_part(report: dict[str, Any]) -> dict[str, Any] | None:
    """The report's MCP gateway section for the page, or ``None`` where no server is set up.

    ``about`` lists the incidents about each server and agent, keyed
    ``KIND:NAME`` (``mcp_server:files``), for the rows that link to them.
    """
    g = report.get("gateway")
    if not g or not g["set_up"]:
        return None
    about: dict[str, list[dict[str, Any]]] = {}
    for i in g["incidents"]:
        about.setdefault(f"{i['subject_kind']}:{i['subject']}", []).append(i)
    return {**g, "about": about}


def add_routes(router: APIRouter, ctx: PageContext) -> None:
    """Add the compliance page to ``router``."""
    from aims.core.standards import STATUSES

    cache = ReportCache(ctx.ws)

    @router.get("/compliance")
    def compliance(request: Request, standard: str = "iso42001", status: str = "") -> Response:
        def show(v: Viewer) -> Response:
            # Imported by the page: the evidence report reaches the registry and
            # its statistics, which a server need not load before it is asked for.
            from aims.services.evidence_render import STATUS_TEXT

            if standard not in STANDARDS:
                raise InvalidInput(
                    f"standard must be one of {', '.join(STANDARDS)}, not {standard!r}"
                )
            if status and status not in STATUSES:
                raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
            report, building = cache.get(standard, v.project)
            return ctx.render(
                request,
                "compliance.html",
                v,
                nav="compliance",
                r=report,
                g=grouped(report, status) if report else None,
                gw=gateway_part(report) if report else None,
                building=building,
                walk=last_walk(ctx.ws.db),
                standard=standard,
                status=status,
                standards=STANDARDS,
                statuses=STATUSES,
                status_text=STATUS_TEXT,
            )

        return ctx.page(request, show)

    @router.get("/api/compliance/state")
    def compliance_state(request: Request, standard: str = "iso42001") -> Response:
        def state(v: Viewer) -> Response:
            return JSONResponse({"building": cache.building(standard, v.project)})

        return ctx.page(request, state)

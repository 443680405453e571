"""Monitoring: one pass of the monitor on request, and a model's stored windows.

A pass requested here is the pass ``aims monitor run --once`` makes, over the
models of the caller's projects only (every model for a token of project
``*``), at the server's clock. It answers with the pass's summary.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aims.errors import Conflict
from aims.server.auth import Principal, require
from aims.server.governance._common import check_model, in_thread, workspace
from aims.server.governance._scope import answers, model_projects, visible_projects

router = APIRouter(tags=["monitoring"])

_PASS = threading.Lock()
"""Held while a requested pass runs: passes asked for at once would compute the same
windows twice, so a second one is refused (409) rather than queued."""


class MonitorRun(BaseModel):
    """The options of ``aims monitor run --once``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"now": False, "models": None}]}
    )
    now: bool = Field(
        False,
        description="Also compute the window still open, marked provisional: it fires no "
        "trigger and is recomputed when the window closes.",
    )
    models: list[Annotated[str, Field(max_length=200)]] | None = Field(
        None, max_length=1000, description="Only these models (default: every model you may see)."
    )


@router.post(
    "/v1/monitor/runs", responses=answers(404, 409, s409="Another requested pass is running.")
)
async def run_monitor(
    request: Request,
    body: MonitorRun = MonitorRun(),
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    principal: Principal = Depends(require("operator")),
) -> Any:
    """Compute the closed windows, fire triggers, open incidents, run actions (one pass)."""
    from aims.services.llm_monitor import full_pass

    ws = workspace(request)
    for name in body.models or ():
        await check_model(request, principal, name, "operator")
    shown = visible_projects(principal, project)
    models = body.models
    if shown is not None:
        projects = await in_thread(model_projects, ws)
        mine = sorted(name for name, p in projects.items() if p in shown)
        models = [m for m in models if m in mine] if models is not None else mine
    if not _PASS.acquire(blocking=False):
        raise Conflict("a monitor pass asked for through the API is running; retry when it ends")
    try:
        summary = await in_thread(full_pass, ws, models=models, provisional=body.now)
    finally:
        _PASS.release()
    return summary.to_dict()


@router.get("/v1/models/{name}/windows", responses=answers(404))
async def windows(
    request: Request,
    name: Annotated[str, Path(max_length=200, description="The model's name.")],
    version: Annotated[int | None, Query(ge=1, description="Only this version.")] = None,
    role: Annotated[
        Literal["production", "canary", "shadow"] | None, Query(description="Only this role.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest windows to show.")] = 24,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """The newest stored window results of a model, newest first (``aims monitor windows``)."""
    from aims.services.monitor.window_list import window_rows

    await check_model(request, principal, name, "viewer")
    return await in_thread(
        window_rows, workspace(request), name, version=version, role=role, limit=limit
    )

"""Reports generated from the store: the compliance evidence report and the model card.

A report for a caller of one project holds that project's models and keys
only; a token of project ``*`` sees every project unless it names one.
JSON answers are the documents ``--format json`` prints; Markdown and HTML
answer ``{"format": ..., "text": ...}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from aims.server.auth import Principal, require
from aims.server.governance._common import check_model, in_thread, workspace
from aims.server.governance._scope import answers, visible_projects

router = APIRouter(tags=["reports"])


def _compliance(
    ws: Any, standard: str, scope: str, project: str | None, fmt: str, full_chain: bool
) -> dict[str, Any]:
    from aims.services.evidence import compliance_report
    from aims.services.evidence_chain import StoredChainCheck
    from aims.services.evidence_render import render_html, render_markdown

    # The chain is walked from the newest recorded walk (whose head is re-checked),
    # so a call costs the events appended since, not the whole log; the report says
    # from which event it walked. ``full_chain`` walks it from the first event.
    chain = None if full_chain else StoredChainCheck(ws.db)
    report = compliance_report(ws, standard, scope=scope, project=project, chain=chain)  # type: ignore[arg-type]
    if fmt == "json":
        return report.to_dict()
    text = render_html(report) if fmt == "html" else render_markdown(report)
    return {"format": fmt, "text": text}


@router.get("/v1/reports/compliance", responses=answers(422))
async def compliance(
    request: Request,
    standard: Annotated[
        Literal["iso42001", "nist-ai-rmf", "eu-ai-act"], Query(description="The standard.")
    ] = "iso42001",
    format: Annotated[
        Literal["json", "html", "markdown"], Query(description="The answer's form.")
    ] = "json",
    all_models: Annotated[
        bool,
        Query(description="Judge every registered model, not only those in production or canary."),
    ] = False,
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    full_chain: Annotated[
        bool,
        Query(
            description="Walk the audit chain from its first event, not from the newest "
            "recorded walk (slow on a long log)."
        ),
    ] = False,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Each control's status with its evidence, and what to do about each gap
    (``aims report compliance``)."""
    shown = visible_projects(principal, project)
    only = None if shown is None else next(iter(shown))
    return await in_thread(
        _compliance,
        workspace(request),
        standard,
        "all" if all_models else "deployed",
        only,
        format,
        full_chain,
    )


def _card(ws: Any, ref: str, fmt: str) -> dict[str, Any]:
    from aims.services.card import card_data, render_html, render_markdown

    data = card_data(ws, ref)
    if fmt == "json":
        return data
    return {"format": fmt, "text": render_html(data) if fmt == "html" else render_markdown(data)}


@router.get("/v1/models/{name}/versions/{version}/card", responses=answers(404))
async def card(
    request: Request,
    name: Annotated[str, Path(max_length=200, description="The model's name.")],
    version: Annotated[int, Path(ge=1, le=2**31 - 1, description="The version number.")],
    format: Annotated[
        Literal["markdown", "html", "json"], Query(description="The answer's form.")
    ] = "markdown",
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """The model card, generated from the store (``aims card``)."""
    await check_model(request, principal, name, "viewer")
    return await in_thread(_card, workspace(request), f"{name}@{version}", format)

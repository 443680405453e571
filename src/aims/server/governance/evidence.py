"""What people record for an audit: evidence kept outside aims; and the sealed
evidence pack. The statement of applicability is in
:mod:`aims.server.governance.applicability`, audits and reviews in
:mod:`aims.server.governance.reviews`.

=========================================  =========  ===========================================
route                                      role       what (the command it stands for)
=========================================  =========  ===========================================
``POST /v1/evidence/files``                scientist  a document, uploaded (``aims evidence add``)
``POST /v1/evidence/links``                scientist  a link and its hash (``aims evidence add``)
``GET /v1/evidence``                       viewer     ``aims evidence list``
``POST /v1/evidence/{id}/review``          scientist  ``aims evidence review``
``POST /v1/evidence/{id}/approve``         approver   ``aims evidence approve``
``POST /v1/evidence/{id}/remove``          scientist  ``aims evidence remove``
``GET /v1/reports/pack``                   viewer     the pack as a zip (``aims report pack``)
=========================================  =========  ===========================================

The project of an act is the ``project`` query parameter, else the server
workspace's project, as locally (:func:`checked_project`, shared with the
statement of applicability and the reviews); ``*`` is the organisation's and
needs a grant on every project. A piece of evidence belongs to the project
it was recorded for: a caller without a grant there gets the 404 of one that
does not exist. The four-eyes rule of approvals is the services': never the
person who added the document (through any of their keys), never an agent.

A link's hash is computed by the client, which can reach the document: the
server never fetches an address sent to it (which would let a caller probe
the server's own network).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from aims.server.auth import Principal, require
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.governance._scope import answers, check_row
from aims.server.governance.datasets import FILE, SHA256, UPLOAD_ANSWERS, multipart_body
from aims.server.schemas import Name, Text
from aims.server.uploads import streamed_form

__all__ = ["PROJECT", "ROW", "checked_project", "router"]

router = APIRouter(tags=["evidence"])

PROJECT = Query(
    max_length=200,
    description="The project (default: the server workspace's); * for the organisation.",
)
ROW = Path(ge=1, le=2**63 - 1, description="Its number.")
SHA256_HEX = Field(pattern=r"^[0-9a-fA-F]{64}$", description="The document's SHA-256 (hex).")


def _project(request: Request, project: str | None) -> str:
    return (project or workspace(request).settings.project).strip()


def checked_project(request: Request, principal: Principal, project: str | None, role: str) -> str:
    """The project an act names (``project``, else the server workspace's), once
    ``principal`` holds ``role`` there."""
    name = _project(request, project)
    check_project(request, principal, name, role)
    return name


# -- evidence kept outside aims --------------------------------------------------------------


class Link(BaseModel):
    """A link to a document and its hash, as the client read it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "controls": ["A.2.2"],
                    "url": "https://intranet.example.org/ai-policy.pdf",
                    "sha256": "0" * 64,
                    "owner": "dpo@example.org",
                    "review_every": "12m",
                }
            ]
        },
    )
    controls: list[Name] = Field(min_length=1, max_length=200, description="Controls evidenced.")
    url: Text = Field(description="An http(s) link to the document.")
    sha256: str = SHA256_HEX
    size: int | None = Field(None, ge=0, description="Bytes the link served when hashed.")
    owner: Name = Field(description="E-mail of who keeps the document current.")
    review_every: Name = Field("12m", description="Review interval: 90d, 6w, 12m or 1y.")
    note: Text = ""


def _add(ws: Any, actor: str, project: str, **kw: Any) -> list[dict[str, Any]]:
    from aims.services.external_evidence import add

    return add(ws, kw.pop("controls"), actor=actor, project=project, **kw)


@router.post(
    "/v1/evidence/files",
    summary="Record an uploaded document as evidence kept outside aims",
    responses=UPLOAD_ANSWERS,
    openapi_extra=multipart_body(
        {
            "file": {**FILE, "description": "The document, stored content-addressed."},
            "control": {"type": "string", "description": "A control it evidences (repeat)."},
            "owner": {"type": "string", "description": "E-mail of who keeps it current."},
            "review_every": {"type": "string", "description": "90d, 6w, 12m or 1y."},
            "note": {"type": "string", "description": "What the document is."},
            "sha256": SHA256,
        },
        ["file", "control", "owner"],
    ),
)
async def add_file(
    request: Request,
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("scientist")),
) -> JSONResponse:
    """The document is streamed to disk (limit ``server.max_upload_bytes``) and stored as
    ``aims evidence add CONTROL --file DOC`` stores it; a ``sha256`` that does not match
    what arrived is a 422, and nothing is stored."""
    ws = workspace(request)
    name = checked_project(request, principal, project, "scientist")
    async with streamed_form(request, files=("file",), checked="file") as form:
        out = await in_thread(
            _add,
            ws,
            principal.actor,
            name,
            controls=form.values("control"),
            owner=form.value("owner", required=True) or "",
            review_every=form.value("review_every") or "12m",
            note=form.value("note") or "",
            file=form.file("file").path,
        )
    return JSONResponse(jsonable_encoder(out), status_code=201)


@router.post("/v1/evidence/links", status_code=201, responses=answers(422))
async def add_link(
    request: Request,
    body: Link,
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Record a link and the hash of what it serves (``aims evidence add --url``)."""
    name = checked_project(request, principal, project, "scientist")
    out = await in_thread(
        _add,
        workspace(request),
        principal.actor,
        name,
        controls=body.controls,
        owner=body.owner,
        review_every=body.review_every,
        note=body.note,
        url=body.url,
        sha256=body.sha256,
        url_size=body.size,
    )
    return jsonable_encoder(out)


@router.get("/v1/evidence", responses=answers(422))
async def list_evidence(
    request: Request,
    project: Annotated[str | None, PROJECT] = None,
    control: Annotated[str | None, Query(max_length=40, description="Only this control.")] = None,
    removed: Annotated[bool, Query(description="Include removed evidence.")] = False,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """The project's and the organisation's evidence kept outside aims, with ``overdue``."""
    from aims.services.external_evidence import list_evidence as run

    name = checked_project(request, principal, project, "viewer")
    out = await in_thread(run, workspace(request), name, control=control, removed=removed)
    return jsonable_encoder(out)


def _no_evidence(evidence_id: int) -> str:
    return f"no evidence #{evidence_id}; 'aims evidence list' shows their numbers"


async def _check_evidence(
    request: Request, principal: Principal, evidence_id: int, role: str
) -> None:
    from aims.storage.schema import ExternalEvidence

    project_of = select(ExternalEvidence.project).where(ExternalEvidence.id == evidence_id)
    await check_row(request, principal, project_of, role, _no_evidence(evidence_id))


class ReviewNote(BaseModel):
    """What the review of the document found."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "still current"}]}
    )
    note: Text = ""


class Withdrawal(BaseModel):
    """Why the evidence is withdrawn."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "superseded by v2"}]}
    )
    reason: Text


@router.post("/v1/evidence/{evidence_id}/review", responses=answers(404, 409))
async def review_evidence(
    request: Request,
    evidence_id: Annotated[int, ROW],
    body: ReviewNote = ReviewNote(),
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Record that the document was reviewed today; its next review moves one interval on."""
    from aims.services.external_evidence import review as run

    await _check_evidence(request, principal, evidence_id, "scientist")
    out = await in_thread(
        run, workspace(request), evidence_id, actor=principal.actor, note=body.note
    )
    return jsonable_encoder(out)


@router.post(
    "/v1/evidence/{evidence_id}/approve",
    responses=answers(
        404, 409, s403="Role too low, the person who added the document, or an agent."
    ),
)
async def approve_evidence(
    request: Request,
    evidence_id: Annotated[int, ROW],
    principal: Principal = Depends(require("approver")),
) -> Any:
    """Approve a piece of evidence as the token's principal; never the person who added it."""
    from aims.services.external_evidence import approve as run

    await _check_evidence(request, principal, evidence_id, "approver")
    return jsonable_encoder(
        await in_thread(run, workspace(request), evidence_id, actor=principal.actor)
    )


@router.post("/v1/evidence/{evidence_id}/remove", responses=answers(404, 409, 422))
async def remove_evidence(
    request: Request,
    evidence_id: Annotated[int, ROW],
    body: Withdrawal,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Withdraw a piece of evidence: kept, marked removed, no longer counted."""
    from aims.services.external_evidence import remove as run

    await _check_evidence(request, principal, evidence_id, "scientist")
    out = await in_thread(
        run, workspace(request), evidence_id, actor=principal.actor, reason=body.reason
    )
    return jsonable_encoder(out)


# -- the evidence pack -----------------------------------------------------------------------


def _pack(ws: Any, standard: str, project: str, scope: str) -> BinaryIO:
    """The pack, built in a scratch folder and opened; the folder is removed before the
    answer starts, the open file keeping its bytes until it is closed (POSIX), so
    nothing is left behind however the sending ends."""
    from aims.services.evidence_pack import build_pack

    root = FilePath(ws.settings.state_dir) / "packs"
    root.mkdir(parents=True, exist_ok=True)
    folder = FilePath(tempfile.mkdtemp(prefix="pack-", dir=root))
    try:
        out = folder / "pack.zip"
        build_pack(ws, out, standard=standard, project=project, scope=scope)  # type: ignore[arg-type]
        return open(out, "rb")  # closed by the answer once sent
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(1 << 20):
            yield chunk


@router.get(
    "/v1/reports/pack",
    responses={
        200: {
            "description": "The signed evidence pack (a zip); check it with "
            "'aims report verify-pack'.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        **answers(422),
    },
    response_class=StreamingResponse,
)
async def pack(
    request: Request,
    standard: Annotated[
        Literal["iso42001", "nist-ai-rmf", "eu-ai-act"], Query(description="The standard.")
    ] = "iso42001",
    all_models: Annotated[
        bool, Query(description="Judge every registered model, not only deployed ones.")
    ] = False,
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("viewer")),
) -> StreamingResponse:
    """The sealed evidence pack of the project (``aims report pack``), signed with the
    workspace's checkpoint key, as a zip file."""
    name = checked_project(request, principal, project, "viewer")
    scope = "all" if all_models else "deployed"
    handle = await in_thread(_pack, workspace(request), standard, name, scope)
    headers = {
        "content-length": str(os.fstat(handle.fileno()).st_size),
        "content-disposition": f'attachment; filename="evidence-pack-{standard}.zip"',
    }
    return StreamingResponse(_chunks(handle), media_type="application/zip", headers=headers)

"""Datasets: register (file uploaded), list.

========================  ==========  ==============================================
route                     role        what
========================  ==========  ==============================================
``POST /v1/datasets``     scientist   register an uploaded data file (multipart)
``GET /v1/datasets``      viewer      the dataset versions of the caller's projects
========================  ==========  ==============================================

A new dataset belongs to the server workspace's project; a new version of an
existing dataset to that dataset's project. A name held by a project the caller
has no grant on is answered 404, as a reference to that dataset would be. The answers are the documents of
:func:`aims.services.datasets.register_dataset` (with ``created``, as ``aims
dataset register --format json`` prints it) and
:func:`aims.services.datasets.list_datasets`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select

from aims.server.auth import Principal, client_of, require
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.predict import _problem_doc
from aims.server.uploads import UploadForm, streamed_form
from aims.services.keys import role_rank

router = APIRouter(tags=["datasets"])

ANSWERS: dict[int | str, dict[str, Any]] = {
    status: _problem_doc(text)
    for status, text in (
        (401, "Missing, invalid, expired or revoked token."),
        (403, "The token's role on the project is too low, or it has no grant there."),
        (429, "The key's rate limit is exceeded (see Retry-After)."),
    )
}
"""The refusals every governance route of this family may answer."""

UPLOAD_ANSWERS: dict[int | str, dict[str, Any]] = {
    **ANSWERS,
    400: _problem_doc("The multipart body does not parse."),
    413: _problem_doc("The files pass server.max_upload_bytes; nothing was registered."),
    429: _problem_doc(
        "The key's rate limit is exceeded, or its principal already sends "
        "server.max_concurrent_uploads uploads (see Retry-After)."
    ),
    507: _problem_doc("The server's disk has no room for the upload; nothing was received."),
    422: _problem_doc(
        "A field is missing or invalid, the file does not match the sha256 sent, or the "
        "data breaks its contract; nothing was registered."
    ),
}
"""The answers of a route that takes an upload (see :mod:`aims.server.uploads`)."""


def multipart_body(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a multipart route whose form has ``properties``."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "required": required}
                }
            },
        }
    }


FILE = {"type": "string", "format": "binary"}
SHA256 = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{64}$",
    "description": "SHA-256 of the main file; when sent, a file that does not match is a 422.",
}


def dataset_projects(ws: Any) -> dict[str, str]:
    """Every registered dataset's project, by dataset name."""
    from aims.storage.schema import Dataset

    with ws.db.session() as s:
        return dict(s.execute(select(Dataset.name, Dataset.project)).tuples().all())


def check_datasets(
    request: Request, principal: Principal, refs: list[str], projects: dict[str, str]
) -> None:
    """Answer 404 for a dataset of a project ``principal`` has no grant on, as for
    one that does not exist, so that other projects' datasets cannot be probed."""
    for ref in refs:
        name = ref.partition("@")[0].strip()
        project = projects.get(name)
        if project is not None and not principal.may_access(project):
            request.app.state.aims.guard.check_project(
                principal,
                project,
                client=client_of(request),
                path=request.url.path,
                hidden_as=f"dataset {name!r} is not registered; see 'aims dataset list'",
            )


@router.post(
    "/v1/datasets",
    summary="Register a dataset version from an uploaded file",
    responses={
        200: {"description": "The same content was registered before: that version."},
        201: {"description": "A new version (the document of 'aims dataset register')."},
        **UPLOAD_ANSWERS,
        404: _problem_doc(
            "The name is a dataset of a project the token has no grant on (answered as a "
            "dataset that is not registered); nothing was registered."
        ),
    },
    openapi_extra=multipart_body(
        {
            "file": {
                **FILE,
                "description": "The data file (Parquet, CSV, Arrow); its suffix tells the format.",
            },
            "name": {"type": "string", "description": "Dataset name."},
            "contract": {**FILE, "description": "ODCS contract the data must satisfy."},
            "sha256": SHA256,
        },
        ["file", "name"],
    ),
)
async def register_dataset(
    request: Request, principal: Principal = Depends(require("scientist"))
) -> JSONResponse:
    """The file is streamed to disk (limit ``server.max_upload_bytes``) and
    registered as ``aims dataset register FILE --name NAME [--contract C]``
    registers it, with the token's principal as the actor. Registering the same
    content again answers the existing version (200, ``created: false``)."""
    from aims.services.datasets import register_dataset as register

    ws = workspace(request)
    projects = await in_thread(dataset_projects, ws)
    # The name is in the body: refuse before receiving it a caller who could not
    # register in any project the name might resolve to.
    if not any(_may_register(principal, p) for p in {ws.settings.project, *projects.values()}):
        check_project(request, principal, ws.settings.project, "scientist")
    async with streamed_form(request, files=("file", "contract"), checked="file") as form:
        name = _name(form)
        project = projects.get(name, ws.settings.project)
        # A name another project holds answers as a reference to it would (404, as for
        # models), never naming that project: names cannot be probed through here.
        check_datasets(request, principal, [name], projects)
        check_project(request, principal, project, "scientist")
        data = form.file("file")
        contract = form.optional_file("contract")
        out, created = await in_thread(
            register,
            ws,
            data.path,
            name,
            actor=principal.actor,
            contract_path=None if contract is None else contract.path,
            source=f"upload:{data.filename}",
        )
    out["created"] = created
    return JSONResponse(jsonable_encoder(out), status_code=201 if created else 200)


def _may_register(principal: Principal, project: str) -> bool:
    held = principal.role_on(project)
    return held is not None and role_rank(held) >= role_rank("scientist")


def _name(form: UploadForm) -> str:
    name = form.value("name", required=True) or ""
    return name.strip()


@router.get(
    "/v1/datasets",
    summary="List dataset versions",
    responses={**ANSWERS},
)
async def list_datasets(
    request: Request,
    project: str | None = Query(None, description="Only this project's datasets."),
    principal: Principal = Depends(require("viewer")),
) -> list[dict[str, Any]]:
    """Every dataset version of the projects the token may see, oldest first
    (the document of ``aims dataset list --format json``)."""
    from aims.services.datasets import list_datasets as every

    ws = workspace(request)

    def visible() -> list[dict[str, Any]]:
        projects = dataset_projects(ws)
        return [
            row
            for row in every(ws)
            if principal.may_access(projects[row["name"]])
            and (project is None or projects[row["name"]] == project)
        ]

    return jsonable_encoder(await in_thread(visible))


__all__ = [
    "ANSWERS",
    "UPLOAD_ANSWERS",
    "check_datasets",
    "dataset_projects",
    "multipart_body",
    "router",
]

"""Model versions: register (artifact uploaded), list, describe, show, owners, lineage.

=====================================================  =========  ================================
route                                                  role       what
=====================================================  =========  ================================
``POST /v1/models/{name}/versions``                    scientist  register an uploaded artifact
``GET /v1/registry/models``                            viewer     the registered models
``GET /v1/registry/models/{name}``                     viewer     a model, its owners and versions
``GET /v1/models/{name}/versions/{version}``           viewer     one version
``PUT /v1/models/{name}/owners``                       scientist  set owners by role
``GET /v1/models/{name}/versions/{version}/lineage``   viewer     what it was made from and into
=====================================================  =========  ================================

``GET /v1/models`` and ``GET /v1/models/{name}`` are the prediction API's
served models (:mod:`aims.server.predict`), so the registry's list and
description of a model are under ``/v1/registry/``. A model of a project the
token has no grant on answers 404, as one that does not exist. Each answer is
the document of the matching :mod:`aims.services.registry` or
:mod:`aims.services.lineage` function, as ``aims model ... --format json``
prints it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from aims.errors import InvalidInput, NotFound, PermissionDenied
from aims.refs import check_name
from aims.server.auth import Principal, require
from aims.server.governance._common import check_model, check_project, in_thread, workspace
from aims.server.governance.datasets import (
    ANSWERS,
    FILE,
    SHA256,
    UPLOAD_ANSWERS,
    check_datasets,
    dataset_projects,
    multipart_body,
)
from aims.server.predict import _problem_doc
from aims.server.uploads import UploadForm, streamed_form

router = APIRouter(tags=["models"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem_doc("No such model or version, or one of another project.")
}


async def _project_for_register(request: Request, principal: Principal, name: str) -> str:
    """The project a new version of ``name`` joins, once the caller may register there."""
    from aims.services.registry import get_model

    ws = workspace(request)

    def exists() -> bool:
        with ws.db.session() as s:
            try:
                get_model(s, name)
            except NotFound:
                return False
            return True

    if await in_thread(exists):
        return await check_model(request, principal, name, "scientist")
    check_project(request, principal, ws.settings.project, "scientist")
    return str(ws.settings.project)


@router.post(
    "/v1/models/{name}/versions",
    summary="Register a model version from an uploaded artifact",
    status_code=201,
    responses={
        201: {"description": "The new version (the document of 'aims model register')."},
        **UPLOAD_ANSWERS,
        **NOT_FOUND,
    },
    openapi_extra=multipart_body(
        {
            "artifact": {
                **FILE,
                "description": "The model file: .skops or .onnx (a pickle only with trust), "
                "or an LLM application's definition (.yaml, its prompt files inlined).",
            },
            "sha256": SHA256,
            "dataset": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Training data as NAME@VERSION (repeat the field): required "
                "for a model file, optional for an LLM application (the data its prompt was "
                "tuned on).",
            },
            "owner": {
                "type": "array",
                "items": {"type": "string"},
                "description": "ROLE=EMAIL (repeat); roles: development, deployment, "
                "monitoring, business.",
            },
            "flavour": {"type": "string", "enum": ["skops", "onnx", "pickle"]},
            "trust": {
                "type": "boolean",
                "description": "Load a pickle (runs its code in the server): admins only.",
            },
            "param": {"type": "array", "items": {"type": "string"}, "description": "KEY=VALUE"},
            "metric": {"type": "array", "items": {"type": "string"}, "description": "KEY=NUMBER"},
            "tag": {"type": "array", "items": {"type": "string"}, "description": "KEY=VALUE"},
            "git_commit": {"type": "string", "description": "The code's commit."},
            "contract": {**FILE, "description": "Input contract (ODCS YAML)."},
        },
        # A model file without dataset is refused by the registry (422), with its reason.
        ["artifact"],
    ),
)
async def register_version(
    name: str, request: Request, principal: Principal = Depends(require("scientist"))
) -> JSONResponse:
    """The artifact is streamed to disk (limit ``server.max_upload_bytes``) and
    registered as ``aims model register`` registers it, with the token's
    principal as the actor. The form fields are that command's options. The
    project is checked before the upload is received."""
    from aims.services.registry import parse_owners, register_model

    check_name(name, "model name")
    ws = workspace(request)
    project = await _project_for_register(request, principal, name)
    async with streamed_form(request, files=("artifact", "contract"), checked="artifact") as form:
        datasets = [d.strip() for d in form.values("dataset") if d.strip()]
        check_datasets(request, principal, datasets, await in_thread(dataset_projects, ws))
        trust = _flag(form.value("trust"), "trust")
        if trust and principal.role_on(project) != "admin":
            raise PermissionDenied(
                "trust loads a pickle, which runs its code inside the server: only an admin "
                f"of project {project} may pass it; convert the model to skops or ONNX"
            )
        artifact = form.file("artifact")
        contract = form.optional_file("contract")
        # An LLM application's definition (YAML, its prompt files inlined by the CLI).
        llm_app = artifact.path.suffix.lower() in (".yaml", ".yml")
        out = await in_thread(
            _register_llm_app if llm_app else register_model,
            ws,
            artifact.path,
            name,
            actor=principal.actor,
            datasets=datasets,
            owners=parse_owners(form.values("owner")),
            flavour=form.value("flavour") or None,
            trust=trust,
            params=_pairs(form, "param"),
            metrics={k: _number(k, v) for k, v in _pairs(form, "metric").items()},
            tags=_pairs(form, "tag"),
            commit=form.value("git_commit") or None,
            contract_path=None if contract is None else contract.path,
            detect_commit=False,
        )
    return JSONResponse(jsonable_encoder(out), status_code=201)


def _register_llm_app(ws: Any, path: Path, name: str, **kw: Any) -> dict[str, Any]:
    """Register an LLM application as :func:`register_model`'s call would a model."""
    from aims.services.llm_apps import register_app

    for option in ("flavour", "trust", "contract_path"):
        if kw.pop(option):
            raise InvalidInput(f"{option} applies to model files, not to an LLM application")
    out: dict[str, Any] = register_app(ws, path, name, **kw)
    return out


def _flag(value: str | None, field: str) -> bool:
    if value is None or value.strip().lower() in ("", "false", "0", "no"):
        return False
    if value.strip().lower() in ("true", "1", "yes"):
        return True
    raise InvalidInput(f"form field {field!r} must be true or false, got {value[:40]!r}")


def _pairs(form: UploadForm, field: str) -> dict[str, str]:
    out = {}
    for item in form.values(field):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{field} {item[:80]!r} does not parse; use KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _number(key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"metric {key}={value[:40]!r}: the value must be a number") from None


@router.get("/v1/registry/models", summary="List registered models", responses={**ANSWERS})
async def list_models(
    request: Request,
    project: str | None = Query(None, description="Only this project's models."),
    principal: Principal = Depends(require("viewer")),
) -> list[dict[str, Any]]:
    """Every registered model of the projects the token may see, with its number
    of versions, its production version and owners (``aims model list``)."""
    from aims.services.registry import list_models as every

    rows = await in_thread(every, workspace(request))
    return jsonable_encoder(
        [
            r
            for r in rows
            if principal.may_access(r["project"]) and (project is None or r["project"] == project)
        ]
    )


@router.get(
    "/v1/registry/models/{name}",
    summary="Describe a registered model",
    responses={**ANSWERS, **NOT_FOUND},
)
async def describe_model(
    name: str, request: Request, principal: Principal = Depends(require("viewer"))
) -> dict[str, Any]:
    """A model with its project, owners and every version (``aims model show NAME``)."""
    from aims.services.registry import describe

    await check_model(request, principal, name, "viewer")
    return jsonable_encoder(await in_thread(describe, workspace(request), name))


@router.get(
    "/v1/models/{name}/versions/{version}",
    summary="Show a model version",
    responses={**ANSWERS, **NOT_FOUND},
)
async def show_version(
    name: str, version: str, request: Request, principal: Principal = Depends(require("viewer"))
) -> dict[str, Any]:
    """One version (a number, or ``latest``, ``production``, ``staging``) with its
    artifact, lineage, metrics and the model's owners (``aims model show NAME@VERSION``)."""
    from aims.services.registry import show_version as show

    await check_model(request, principal, name, "viewer")
    return jsonable_encoder(await in_thread(show, workspace(request), f"{name}@{version}"))


class OwnersRequest(BaseModel):
    """The owners to set, by role."""

    model_config = ConfigDict(extra="forbid")

    owners: list[str] | dict[str, str] = Field(
        description="ROLE=EMAIL pairs, or an object {role: email}; roles: development, "
        "deployment, monitoring, business.",
        examples=[["monitoring=ana@x.org"], {"deployment": "ops@x.org"}],
    )


@router.put(
    "/v1/models/{name}/owners",
    summary="Set a model's owners",
    responses={**ANSWERS, **NOT_FOUND, 422: _problem_doc("An owner does not parse.")},
)
async def set_owners(
    name: str,
    body: OwnersRequest,
    request: Request,
    principal: Principal = Depends(require("scientist")),
) -> dict[str, str]:
    """Set (or change) owners by role; the answer is every owner of the model
    (``aims model owners NAME ROLE=EMAIL ...``). Audited under the token's principal."""
    from aims.services.registry import parse_owners
    from aims.services.registry import set_owners as set_them

    await check_model(request, principal, name, "scientist")
    items = (
        body.owners
        if isinstance(body.owners, list)
        else [f"{role}={who}" for role, who in body.owners.items()]
    )
    owners = parse_owners(items)
    return await in_thread(set_them, workspace(request), name, owners, actor=principal.actor)


@router.get(
    "/v1/models/{name}/versions/{version}/lineage",
    summary="A model version's lineage",
    responses={**ANSWERS, **NOT_FOUND},
)
async def lineage(
    name: str,
    version: str,
    request: Request,
    format: Literal["aims", "openlineage"] = Query(
        "aims", description="openlineage: the training run as an OpenLineage RunEvent."
    ),
    principal: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    """What the version was made from (datasets) and made into (deployments,
    evaluations) as ``aims lineage NAME@VERSION``, or with ``format=openlineage``
    its training run as an OpenLineage event (``--openlineage``)."""
    from aims.services.lineage import lineage as build
    from aims.services.lineage import openlineage_event

    await check_model(request, principal, name, "viewer")
    fn = openlineage_event if format == "openlineage" else build
    return jsonable_encoder(await in_thread(fn, workspace(request), f"{name}@{version}"))


__all__ = ["router"]

"""Evaluations: run by the server on a registered dataset or uploaded data, or attached.

===============================================================  =========  ====================
route                                                            role       what
===============================================================  =========  ====================
``POST /v1/models/{name}/versions/{version}/evaluations``        scientist  evaluate (server)
``POST /v1/models/{name}/versions/{version}/evaluations:attach``  scientist  attach a result
===============================================================  =========  ====================

The server runs :func:`aims.services.evaluations.evaluate` (in a worker
thread: a large evaluation takes seconds) on either a registered dataset
(JSON body ``{"dataset": "cells@1", ...}``) or a file uploaded with the request
(multipart, file ``data``), and stores what ``aims evaluate`` stores. A result
computed elsewhere is attached with
:func:`aims.services.evaluations.attach_evaluation`, marked as such.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aims.errors import InvalidInput, MalformedBody
from aims.refs import parse_ref
from aims.server.auth import Principal, require
from aims.server.governance._common import check_model, in_thread, workspace
from aims.server.governance.datasets import (
    ANSWERS,
    FILE,
    UPLOAD_ANSWERS,
    check_datasets,
    dataset_projects,
)
from aims.server.predict import _problem_doc
from aims.server.uploads import UploadForm, safe_filename, streamed_form

router = APIRouter(tags=["evaluations"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem_doc("No such model, version or dataset, or one of another project.")
}


class EvaluateOptions(BaseModel):
    """What ``aims evaluate`` takes besides the data."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, description="Label column (default: from the contract).")
    sensitive: list[str] = Field([], description="Sensitive columns for fairness.")
    shap: bool = Field(False, description="Also explain the features by mean |SHAP|.")


class EvaluateRequest(EvaluateOptions):
    """Evaluate on a registered dataset."""

    dataset: str = Field(description="The labelled data as NAME@VERSION.", examples=["cells@1"])


class AttachRequest(BaseModel):
    """An evaluation computed elsewhere."""

    model_config = ConfigDict(extra="forbid")

    evaluation: dict[str, Any] = Field(
        description="The 'evaluation' object of 'aims evaluate --format json', unchanged."
    )
    data: str = Field(
        min_length=1, max_length=500, description="What the data was (a name, a path, a URI)."
    )
    data_sha256: str = Field(
        pattern="^[0-9a-f]{64}$", description="SHA-256 of the data file (lower-case hex)."
    )


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


@router.post(
    "/v1/models/{name}/versions/{version}/evaluations",
    summary="Evaluate a model version (run by the server)",
    status_code=201,
    responses={
        201: {"description": "The stored result (the document of 'aims evaluate')."},
        **UPLOAD_ANSWERS,
        **NOT_FOUND,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _schema(EvaluateRequest)},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {
                            "data": {**FILE, "description": "Labelled data (Parquet, CSV)."},
                            "label": {"type": "string"},
                            "sensitive": {"type": "array", "items": {"type": "string"}},
                            "shap": {"type": "boolean"},
                            "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                        },
                    }
                },
            },
        }
    },
)
async def evaluate(
    name: str, version: str, request: Request, principal: Principal = Depends(require("scientist"))
) -> JSONResponse:
    """Evaluate as ``aims evaluate NAME@VERSION`` does (metrics, calibration,
    slices, fairness, robustness, importance, and the production version
    beside it) and store the result under the token's principal. The data is
    a registered dataset (JSON ``{"dataset": "cells@1", "label", "sensitive",
    "shap"}``) or a file sent with the request (multipart: ``data``, the same
    fields, and optionally its ``sha256``)."""
    await check_model(request, principal, name, "scientist")
    ref = f"{name}@{version}"
    parse_ref(ref)  # a malformed version is a 422 before any data is received
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        async with streamed_form(request, files=("data",), checked="data") as form:
            options = _options(form)
            data = form.file("data")
            out = await in_thread(
                _run, request, principal, ref, data.path, options, f"upload:{data.filename}"
            )
    else:
        body = _json_body(EvaluateRequest, await _read_json(request))
        out = await _on_dataset(request, principal, ref, body)
    return JSONResponse(jsonable_encoder(out), status_code=201)


def _options(form: UploadForm) -> EvaluateOptions:
    shap = (form.value("shap") or "false").strip().lower()
    if shap not in ("true", "false", "1", "0"):
        raise InvalidInput(f"form field 'shap' must be true or false, got {shap[:40]!r}")
    return _json_body(
        EvaluateOptions,
        {
            "label": form.value("label") or None,
            "sensitive": [s for s in form.values("sensitive") if s.strip()],
            "shap": shap in ("true", "1"),
        },
    )


async def _read_json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise MalformedBody(
            'the body is not JSON; send {"dataset": "NAME@VERSION"} as application/json, '
            "or the data as a multipart/form-data file part named 'data'"
        ) from None


def _json_body(model: type[BaseModel], raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        details = [
            {
                "row": None,
                "field": ".".join(str(p) for p in e["loc"]) or None,
                "rule": e["type"],
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        first = details[0]
        raise InvalidInput(
            f"{first['field'] or 'body'}: {first['message']}", details=details
        ) from None


def _run(
    request: Request,
    principal: Principal,
    ref: str,
    path: Path,
    options: EvaluateOptions,
    source: str,
) -> dict[str, Any]:
    from aims.services.evaluations import evaluate as run
    from aims.services.llm_apps import is_llm_app_version

    ws = workspace(request)
    if is_llm_app_version(ws, ref):
        # Cases with their outputs; answers are generated only from the command line.
        from aims.services.llm_evaluation import evaluate_app

        return evaluate_app(ws, ref, path, actor=principal.actor, source=source)
    return run(
        ws,
        ref,
        path,
        actor=principal.actor,
        label=options.label,
        sensitive=options.sensitive,
        shap=options.shap,
        source=source,
    )


async def _on_dataset(
    request: Request, principal: Principal, ref: str, body: EvaluateRequest
) -> dict[str, Any]:
    """Evaluate on a registered dataset: its artifact, copied to a temporary file
    named as the file it was registered from (the format is read from the suffix)."""
    ws = workspace(request)
    check_datasets(request, principal, [body.dataset], await in_thread(dataset_projects, ws))
    folder = Path(tempfile.mkdtemp(prefix="dataset-", dir=_scratch(ws)))
    try:
        path, label = await in_thread(_fetch_dataset, ws, body.dataset, folder)
        return await in_thread(_run, request, principal, ref, path, body, f"dataset:{label}")
    finally:
        await in_thread(shutil.rmtree, folder, True)


def _scratch(ws: Any) -> Path:
    root = ws.settings.state_dir / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _fetch_dataset(ws: Any, text: str, folder: Path) -> tuple[Path, str]:
    from aims.services.datasets import get_dataset_version

    with ws.db.session() as s:
        dv = get_dataset_version(s, parse_ref(text))
        sha, source = dv.artifact_sha256, dv.source
        label = f"{dv.dataset.name}@{dv.version}"
    original = source.removeprefix("upload:")
    path = folder / safe_filename(PurePosixPath(original.replace("\\", "/")).name)
    ws.artifacts.get_file(sha, path)
    return path, label


@router.post(
    "/v1/models/{name}/versions/{version}/evaluations:attach",
    summary="Attach an evaluation computed elsewhere",
    status_code=201,
    responses={
        201: {"description": "The stored result, marked attached."},
        **ANSWERS,
        **NOT_FOUND,
        422: _problem_doc("The evaluation does not parse, or a field is invalid."),
    },
)
async def attach(
    name: str,
    version: str,
    body: AttachRequest,
    request: Request,
    principal: Principal = Depends(require("scientist")),
) -> dict[str, Any]:
    """Store a result that ``aims evaluate`` computed somewhere else (where the
    data lives), with the data's name and SHA-256. It is marked ``attached``
    and audited as ``model.evaluate.attach`` under the token's principal, so a
    reviewer can tell it from one the server computed."""
    from aims.services.evaluations import attach_evaluation

    await check_model(request, principal, name, "scientist")
    out = await in_thread(
        attach_evaluation,
        workspace(request),
        f"{name}@{version}",
        body.evaluation,
        actor=principal.actor,
        data=body.data,
        data_sha256=body.data_sha256,
    )
    return jsonable_encoder(out)


__all__ = ["router"]

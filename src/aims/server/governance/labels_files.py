"""``POST /v1/labels/files``: ground truth from a file (``aims labels ingest``).

The file (Parquet, CSV or Arrow, as at the command line) is streamed to a
temporary file by :func:`aims.server.uploads.streamed_form`, within
``server.max_upload_bytes`` and checked against its ``sha256`` field when one
is sent, then handed to the same service the command calls. The labels are
attributed to the token's principal and audited as one batch.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from aims.errors import NotFound
from aims.server.auth import Principal, require
from aims.server.governance._common import in_thread, workspace
from aims.server.governance._scope import answers, check_hidden
from aims.server.uploads import streamed_form

router = APIRouter(tags=["labels"])

_FORM = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file", "model"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "The labels: Parquet, CSV or Arrow.",
                },
                "model": {
                    "type": "string",
                    "description": "The model whose predictions these are.",
                },
                "by": {
                    "type": "string",
                    "enum": ["prediction_id", "key"],
                    "default": "prediction_id",
                    "description": "Attach by prediction id, or by the business key of the "
                    "input contract.",
                },
                "label": {
                    "type": "string",
                    "default": "label",
                    "description": "The column holding the ground truth.",
                },
                "sha256": {
                    "type": "string",
                    "description": "Hex SHA-256 of the file; a mismatch is a 422.",
                },
            },
        }
    }
}


@router.post(
    "/v1/labels/files",
    openapi_extra={"requestBody": {"required": True, "content": _FORM}},
    responses=answers(
        400,
        404,
        413,
        422,
        507,
        s413="The file is over server.max_upload_bytes; nothing was stored.",
        s429="The key's rate limit is exceeded, or its principal already sends "
        "server.max_concurrent_uploads uploads (see Retry-After).",
        s507="The server's disk has no room for the upload; nothing was stored.",
    ),
)
async def ingest_file(
    request: Request, principal: Principal = Depends(require("predictor"))
) -> Any:
    """Attach the labels of a file to logged predictions; ids not in the log are counted."""
    from aims.core.roles import role_rank
    from aims.services.labelling import LOG_READER_ROLE, ingest_labels, model_key_column

    state = request.app.state.aims
    ws = workspace(request)
    async with streamed_form(request, files=("file",), checked="file") as form:
        upload = form.file("file")
        model = form.value("model", required=True) or ""
        by = form.value("by") or "prediction_id"
        label = form.value("label") or "label"
        hidden = f"model {model!r} is not registered"
        try:
            project, _, _ = await in_thread(model_key_column, ws, model)
        except NotFound:
            raise NotFound(hidden) from None
        check_hidden(request, principal, project, "predictor", hidden)

        def ingest() -> dict[str, Any]:
            # Predictions acknowledged a moment ago may still be queued; write them
            # first so that their labels find them.
            state.writer.flush()
            return ingest_labels(
                ws,
                model,
                upload.path,
                by=by,
                label=label,
                salt=state.salt,
                actor=principal.actor,
                source="api",
                # Match counts tell whether an id is in the log: only for those who may read it.
                reveal_matches=role_rank(principal.role_on(project) or "viewer")
                >= role_rank(LOG_READER_ROLE),
            )

        return await in_thread(ingest)

"""``POST /v1/labels``: ground truth for earlier predictions, by prediction id or business key."""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from aims.errors import NotFound
from aims.server.auth import Principal, client_of, require
from aims.server.labelling import ingest_labels, model_key_column
from aims.server.predict import ERRORS
from aims.server.problems import ApiError
from aims.server.schemas import ErrorResponse, LabelsRequest, LabelsResponse

router = APIRouter(tags=["labels"])


def _frame(body: LabelsRequest) -> pl.DataFrame:
    column = body.by
    ids = [getattr(item, column) for item in body.labels]
    missing = [i for i, v in enumerate(ids) if v is None]
    if missing:
        raise ApiError(
            422,
            "invalid_input",
            f"{len(missing)} label(s) lack {column!r} (labels are attached by {column})",
            [
                {"row": i, "field": column, "rule": "missing", "message": f"{column} is missing"}
                for i in missing
            ],
        )
    values = pl.Series("label", [item.label for item in body.labels], strict=False)
    return pl.DataFrame({column: pl.Series(column, ids, pl.String), "label": values})


@router.post(
    "/v1/labels",
    response_model=LabelsResponse,
    responses={
        **ERRORS,
        413: {"model": ErrorResponse, "description": "Body over the limit."},
        422: {"model": ErrorResponse, "description": "A label lacks its id or key."},
    },
)
async def post_labels(
    body: LabelsRequest, request: Request, principal: Principal = Depends(require("predictor"))
) -> dict[str, Any]:
    """Attach labels to logged predictions; ids not (yet) in the log are counted, not stored."""
    state = request.app.state.aims
    try:
        project, _, _ = await run_in_threadpool(model_key_column, state.ws, body.model)
    except NotFound:
        raise ApiError(404, "not_found", f"model {body.model!r} is not registered") from None
    state.guard.check_project(principal, project, client=client_of(request), path=request.url.path)
    frame = _frame(body)

    def ingest() -> dict[str, Any]:
        # Predictions acknowledged a moment ago may still be queued; write them
        # first so their labels find them.
        state.writer.flush()
        return ingest_labels(
            state.ws, body.model, frame, by=body.by, label="label", salt=state.salt
        )

    return await run_in_threadpool(ingest)

"""``POST /v1/labels``: ground truth for earlier predictions, by prediction id or business key.

The body's schema (:class:`~aims.server.schemas.LabelsRequest`) admits only
what the label store can keep: valid Unicode text of bounded length, 64-bit
integers, finite numbers and booleans, never lists or objects; anything else
is a 422 naming the label's index and field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from aims.errors import InvalidInput, NotFound
from aims.server.auth import Principal, client_of, require
from aims.server.predict import ERRORS, _problem_doc
from aims.server.schemas import LabelsRequest, LabelsResponse
from aims.services.keys import role_rank

if TYPE_CHECKING:
    import polars as pl

router = APIRouter(tags=["labels"])


def _frame(body: LabelsRequest) -> pl.DataFrame:
    import polars as pl

    column = body.by
    ids = [getattr(item, column) for item in body.labels]
    missing = [i for i, v in enumerate(ids) if v is None]
    if missing:
        raise InvalidInput(
            f"{len(missing)} label(s) lack {column!r} (labels are attached by {column})",
            details=[
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
        400: _problem_doc("The body is not JSON (or too deeply nested, or not UTF-8)."),
        413: _problem_doc("Body over the limit."),
        422: _problem_doc(
            "A label lacks its id or key, or holds a value that cannot be stored "
            "(a list, an object, invalid text)."
        ),
    },
)
async def post_labels(
    body: LabelsRequest, request: Request, principal: Principal = Depends(require("predictor"))
) -> dict[str, Any]:
    """Attach labels to logged predictions; ids not (yet) in the log are counted, not stored."""
    # The label store works in Polars, loaded with the first labels rather than at start.
    from aims.services.labelling import LOG_READER_ROLE, ingest_labels, model_key_column

    state = request.app.state.aims
    try:
        project, _, _ = await run_in_threadpool(model_key_column, state.ws, body.model)
    except NotFound:
        raise NotFound(f"model {body.model!r} is not registered") from None
    state.guard.check_project(
        principal,
        project,
        client=client_of(request),
        path=request.url.path,
        hidden_as=f"model {body.model!r} is not registered",
    )
    frame = _frame(body)

    def ingest() -> dict[str, Any]:
        # Predictions acknowledged a moment ago may still be queued; write them
        # first so their labels find them.
        state.writer.flush()
        return ingest_labels(
            state.ws,
            body.model,
            frame,
            by=body.by,
            label="label",
            salt=state.salt,
            actor=principal.actor,
            source="api",
            # Match counts tell whether an id or key is in the log: only
            # callers who may read the model's log see them.
            reveal_matches=principal.rank >= role_rank(LOG_READER_ROLE),
        )

    return await run_in_threadpool(ingest)

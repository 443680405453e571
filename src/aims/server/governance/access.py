"""Access review and key rotation over HTTP.

The review shows every principal's grants and keys, so it needs the admin role:
on every project (a token of project ``*``) for the whole review, or on the
project it is narrowed to with ``?project=``. Rotating a key needs the admin
role on the key's project; a key of another project answers as one that does
not exist (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aims.core.roles import ALL_PROJECTS
from aims.server.auth import Principal, require
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.governance._scope import answers, check_key

router = APIRouter(tags=["access"])

KEY_ID = Path(max_length=64, description="The key id (the part after 'aims.').")


class Rotation(BaseModel):
    """The options of ``aims keys rotate``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"overlap_seconds": 3600}]}
    )
    overlap_seconds: float = Field(
        3600.0, ge=0, le=90 * 86400, description="How long the old key keeps working."
    )


@router.get("/v1/access/review", responses=answers(422))
async def review(
    request: Request,
    project: Annotated[
        str | None, Query(max_length=100, description="Only principals with access to it.")
    ] = None,
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Every principal with grants, keys and findings (``aims access review``)."""
    from aims.services.access_review import access_review

    check_project(request, principal, project or ALL_PROJECTS, "admin")
    return await in_thread(access_review, workspace(request), project=project)


@router.post("/v1/keys/{key_id}/rotate", status_code=201, responses=answers(404, 409))
async def rotate(
    request: Request,
    key_id: Annotated[str, KEY_ID],
    body: Rotation = Rotation(),
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Replace a key; the old one expires after the overlap. Answers the new key once."""
    from aims.services.keys import rotate_key

    await check_key(request, principal, key_id)
    ws = workspace(request)
    info, secret = await in_thread(
        rotate_key, ws, key_id, actor=principal.actor, overlap_seconds=body.overlap_seconds
    )
    return {**info, "api_key": secret}

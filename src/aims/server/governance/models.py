"""Model versions: register (artifact uploaded), list, show, owners, lineage."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["models"])

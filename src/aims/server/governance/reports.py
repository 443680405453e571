"""Reports generated from the store: compliance, model cards."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reports"])

"""The audit log: query, verify, checkpoint."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["audit-log"])

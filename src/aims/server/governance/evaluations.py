"""Evaluations: run by the server on a registered dataset, or attached."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["evaluations"])

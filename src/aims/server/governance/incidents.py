"""Incidents: list, show, acknowledge, resolve."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["incidents"])

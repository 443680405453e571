"""Datasets: register (file uploaded), list, show."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["datasets"])

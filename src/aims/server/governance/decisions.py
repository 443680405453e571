"""Decisions: risk assessments, approvals, gates, promote, rollback, history."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["decisions"])

"""What marks a stored window final or provisional, and the roles people are shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func

from aims.storage.schema import MonitorWindow

__all__ = ["SHOWN_ROLES", "final_only", "is_provisional", "provisional_only"]

#: Roles that receive or shadow traffic; "none" marks a version's empty window.
SHOWN_ROLES = ("production", "canary", "shadow")


def is_provisional(results: dict[str, Any] | None) -> bool:
    """Whether stored ``results`` are those of a window still open."""
    return bool((results or {}).get("provisional"))


def final_only() -> ColumnElement[bool]:
    """The condition that keeps final windows only."""
    # A JSON flag, not a column: older windows simply lack it (final).
    flag = MonitorWindow.results["provisional"].as_boolean()
    return func.coalesce(flag, false()) == false()


def provisional_only() -> ColumnElement[bool]:
    """The condition that keeps provisional windows only."""
    return func.coalesce(MonitorWindow.results["provisional"].as_boolean(), false()) != false()

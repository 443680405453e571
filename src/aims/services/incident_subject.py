"""What an incident is about: its subject, a model or something that is no model.

The monitor files incidents about models; the MCP gateway files them about an
upstream server whose tool changed (``mcp_server``); a burst of refused calls
is filed about the agent or other caller behind it. Every subject lives in a
project, which scopes the incident as a model's project scopes the model.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SUBJECT_KINDS", "audit_subject", "subject_label"]

SUBJECT_KINDS = ("model", "mcp_server", "agent", "principal", "api_key", "client")
"""The kinds of subject incidents are filed about, models first."""

_NAMES = {"mcp_server": "MCP server", "api_key": "API key"}


def subject_label(kind: str, subject: str) -> str:
    """How people read a subject.

    >>> subject_label("mcp_server", "files"), subject_label("agent", "invoice-bot")
    ('MCP server files', 'agent invoice-bot')
    """
    return f"{_NAMES.get(kind, kind.replace('_', ' '))} {subject}"


def audit_subject(inc: Any) -> str:
    """The audit subject of a change to incident ``inc``.

    A model's incident is recorded under its model version, as the monitor
    records the firing; an MCP server's under ``mcp:NAME``, as the gateway
    records its tools; any other under ``KIND:NAME``.
    """
    if inc.subject_kind == "model":
        return f"model:{inc.subject}@{inc.version}"
    if inc.subject_kind == "mcp_server":
        return f"mcp:{inc.subject}"
    return f"{inc.subject_kind}:{inc.subject}"

"""What every MCP tool is made of: its caller, its definition, strict arguments, the audit's view.

:func:`tool` registers a function as a tool in :data:`TOOLS`; the tool modules
(:mod:`aims.services.mcp_read`, :mod:`aims.services.mcp_propose`) use it, and
:mod:`aims.services.mcp_tools` runs and audits them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from aims.core.roles import ALL_PROJECTS
from aims.errors import AimsError, InvalidInput, NotFound, PermissionDenied
from aims.services.keys import role_rank
from aims.storage.predlog.schema import hash_value
from aims.workspace import Workspace

__all__ = [
    "TOOLS",
    "Caller",
    "Tool",
    "error_text",
    "owner_of",
    "parse_args",
    "redacted",
    "tool",
]


@dataclass(frozen=True)
class Caller:
    """Who calls a tool: the principal (or key) the audit log names, and its rights."""

    actor: str
    """The principal's name, else ``apikey:<id>``."""
    owner: str | None
    """The human who answers for the principal (an agent's or a service's owner)."""
    role_on: Callable[[str], str | None]
    """The role the caller holds on a project (None: no access), as on the API."""
    projects: frozenset[str] | None
    """The projects the caller sees in lists (None: every project)."""

    def check(self, project: str, role: str, hidden: str) -> None:
        """Refuse the caller on a thing of ``project``: as ``NotFound(hidden)`` without
        a grant there, ``PermissionDenied`` when its role there is below ``role``."""
        held = self.role_on(project)
        if held is None:
            raise NotFound(hidden)
        if role_rank(held) < role_rank(role):
            raise PermissionDenied(
                f"this needs the {role} role or higher on project {project}; the caller has {held}"
            )

    def sees(self, project: str) -> bool:
        """Whether lists show things of ``project`` to the caller."""
        return self.projects is None or project in self.projects or ALL_PROJECTS in self.projects


@dataclass(frozen=True)
class Tool:
    """One tool: its name, scope, the lowest role it needs, its arguments and its body."""

    name: str
    title: str
    description: str
    scope: str
    role: str
    args: type[BaseModel]
    run: Callable[[Workspace, Caller, Any], Any]
    free_text: tuple[str, ...] = ()
    """Arguments that are free text: hashed in the audit log, as they may name people."""

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments (``additionalProperties: false``)."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        return schema


TOOLS: dict[str, Tool] = {}
"""Every tool, by name, as registered by :func:`tool` (see :func:`aims.services.mcp_tools.tools`)."""


def tool(
    name: str,
    *,
    title: str,
    scope: str,
    role: str,
    args: type[BaseModel],
    free_text: tuple[str, ...] = (),
) -> Callable[[Callable[[Workspace, Caller, Any], Any]], Callable[[Workspace, Caller, Any], Any]]:
    """Register the decorated function as tool ``name``; its docstring is the description."""

    def register(
        fn: Callable[[Workspace, Caller, Any], Any],
    ) -> Callable[[Workspace, Caller, Any], Any]:
        description = " ".join((fn.__doc__ or "").split())
        TOOLS[name] = Tool(name, title, description, scope, role, args, fn, free_text)
        return fn

    return register


def parse_args(t: Tool, arguments: dict[str, Any] | None) -> BaseModel:
    """``arguments`` as tool ``t``'s argument model; ``InvalidInput`` naming each bad field."""
    try:
        return t.args.model_validate(arguments or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "arguments"
            problems.append(f"{where}: {err['msg']}")
        fields = ", ".join(t.args.model_fields) or "none"
        raise InvalidInput(
            f"arguments of {t.name} are not valid: {'; '.join(problems)} "
            f"(it takes: {fields}; see its input schema)"
        ) from None


def redacted(t: Tool | None, arguments: dict[str, Any] | None, salt: str) -> dict[str, Any]:
    """``arguments`` for the audit log: free-text values replaced by ``sha256:<keyed hash>``.

    Values of an unknown tool are all hashed, since nothing says what they hold.
    """
    if not isinstance(arguments, dict):
        return {"_invalid": hash_value(repr(arguments), salt)}
    out: dict[str, Any] = {}
    for key, value in list(arguments.items())[:50]:
        plain = t is not None and key in t.args.model_fields and key not in t.free_text
        short = isinstance(value, (int, float, bool)) or (
            isinstance(value, str) and len(value) <= 200
        )
        if value is None or (plain and short):
            out[str(key)[:100]] = value
        else:
            out[str(key)[:100]] = "hmac:" + hash_value(
                value if isinstance(value, str) else repr(value), salt
            )
    return out


def owner_of(ws: Workspace, name: str | None) -> str | None:
    """The human owner of principal ``name`` (None for a human, a key or an unknown name)."""
    if not name:
        return None
    from sqlalchemy import select

    from aims.storage.schema import Principal

    with ws.db.session() as s:
        row = s.scalar(select(Principal).where(Principal.name == name))
        if row is None or row.owner_id is None:
            return None
        boss = s.get(Principal, row.owner_id)
        return boss.name if boss is not None else None


def error_text(exc: AimsError) -> str:
    """The message a tool error shows the agent."""
    return f"{exc.code}: {exc.message}"

"""The inventory of upstream MCP servers the gateway forwards calls to.

Each server has a name (the namespace of its tools as agents see them), an
owner (a principal who answers for it and approves its tools' pins), a
transport and a URL, and optionally where the gateway's own credential for it
lives: ``env:NAME`` (an environment variable of the gateway's process) or
``file:PATH`` (a file only its owner may read, as :mod:`aims.storage.secret_file`
demands). The secret itself is never stored, and the agent's token is never
sent upstream: the gateway calls each server as itself.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from aims.clock import now_utc
from aims.errors import ConfigError, Conflict, InvalidInput, NotFound
from aims.services import audit
from aims.services.identity import resolve
from aims.storage.schema import GatewayAllow, GatewayPin, GatewayServer
from aims.workspace import Workspace

__all__ = [
    "NAME_RE",
    "TRANSPORTS",
    "Upstream",
    "add_server",
    "list_servers",
    "load_upstreams",
    "read_credential",
    "remove_server",
]

TRANSPORTS = ("http", "stdio")
"""Transports the gateway speaks upstream: ``http`` is MCP's streamable HTTP (``url`` is the
server's endpoint); with ``stdio`` the gateway starts the server itself (``url`` holds the
command line) and speaks MCP on its standard input and output."""

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
"""Server names: they prefix tool names (``SERVER__TOOL``), so they stay short, plain and
free of ``_`` (no server's name can then end where another's tool name begins)."""

_ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class Upstream:
    """What the gateway needs of one server to call it."""

    id: int
    name: str
    owner: str
    url: str
    credential: str | None
    project: str
    transport: str = "http"


def _check_credential(credential: str) -> str:
    kind, _, where = credential.partition(":")
    if kind == "env" and _ENV_RE.match(where):
        return credential
    if kind == "file" and where:
        return f"file:{Path(where).expanduser().resolve()}"
    raise InvalidInput(
        f"credential {credential!r} must say where the secret lives: env:VARIABLE_NAME or "
        "file:/path/to/secret (never the secret itself)"
    )


def read_credential(credential: str | None) -> str | None:
    """The secret a credential reference points to; ``ConfigError`` when it cannot be read."""
    if credential is None:
        return None
    kind, _, where = credential.partition(":")
    if kind == "env":
        value = os.environ.get(where, "")
        if not value:
            raise ConfigError(
                f"the environment variable {where} holding an upstream secret is unset"
            )
        return value
    path = Path(where)
    if not path.is_file():
        raise ConfigError(f"the upstream secret file {path} does not exist")
    mode = path.stat().st_mode
    if mode & 0o077:
        raise ConfigError(
            f"{path} is readable by other users (mode {oct(mode & 0o777)}); run 'chmod 600 {path}'"
        )
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise ConfigError(f"the upstream secret file {path} is empty")
    return value


def add_server(
    ws: Workspace,
    name: str,
    *,
    owner: str,
    url: str,
    transport: str = "http",
    credential: str | None = None,
    project: str | None = None,
    actor: str,
) -> dict[str, Any]:
    """Register an upstream server; refuses a bad name, URL, owner or credential reference."""
    if not NAME_RE.match(name):
        raise InvalidInput(
            f"server name {name!r} must be lower case letters, digits or '-' "
            "(at most 32, starting with a letter), e.g. files"
        )
    if transport not in TRANSPORTS:
        raise InvalidInput(
            f"transport {transport!r} is not supported; use one of {', '.join(TRANSPORTS)}"
        )
    if transport == "stdio":
        try:
            argv = shlex.split(url)
        except ValueError as exc:
            raise InvalidInput(f"command {url!r} cannot be read as a command line: {exc}") from None
        if not argv:
            raise InvalidInput(
                "a stdio server needs the command that starts it, e.g. 'npx files-mcp'"
            )
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(
                f"url {url!r} must be an http(s) URL, e.g. https://files.example/mcp"
            )
    if credential is not None:
        credential = _check_credential(credential)
    with ws.db.session() as s:
        who = resolve(s, owner)
        if who is None or who.disabled_at is not None:
            raise NotFound(
                f"owner {owner!r} is not an enabled principal; add it with "
                f"'aims principals add {owner} --kind human'"
            )
        if s.scalar(select(GatewayServer).where(GatewayServer.name == name)) is not None:
            raise Conflict(f"server {name} is already registered; remove it first to change it")
        row = GatewayServer(
            name=name,
            owner=who.name,
            transport=transport,
            url=url,
            credential=credential,
            project=project or ws.settings.project,
            created_by=actor,
            created_at=now_utc(),
        )
        s.add(row)
        s.flush()
        payload = _payload(row)
        audit.record(
            s, actor=actor, action="gateway.server.add", subject=f"mcp:{name}", payload=payload
        )
    return payload


def _payload(row: GatewayServer) -> dict[str, Any]:
    return {
        "name": row.name,
        "owner": row.owner,
        "transport": row.transport,
        "url": row.url,
        "credential": row.credential,
        "project": row.project,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }


def list_servers(ws: Workspace) -> list[dict[str, Any]]:
    """Every registered server, by name."""
    with ws.db.session() as s:
        return [_payload(r) for r in s.scalars(select(GatewayServer).order_by(GatewayServer.name))]


def load_upstreams(ws: Workspace) -> dict[str, Upstream]:
    """The registered servers by name, as the gateway calls them."""
    with ws.db.session() as s:
        return {
            r.name: Upstream(r.id, r.name, r.owner, r.url, r.credential, r.project, r.transport)
            for r in s.scalars(select(GatewayServer))
        }


def remove_server(ws: Workspace, name: str, *, actor: str) -> dict[str, Any]:
    """Remove a server with its allow-list entries and pins (the audit log keeps their history)."""
    with ws.db.session() as s:
        row = s.scalar(select(GatewayServer).where(GatewayServer.name == name))
        if row is None:
            raise NotFound(f"no server named {name}; see 'aims gateway server list'")
        payload = _payload(row)
        for model in (GatewayAllow, GatewayPin):
            for child in s.scalars(select(model).where(model.server_id == row.id)):
                s.delete(child)
        s.flush()
        s.delete(row)
        audit.record(
            s, actor=actor, action="gateway.server.remove", subject=f"mcp:{name}", payload=payload
        )
    return payload

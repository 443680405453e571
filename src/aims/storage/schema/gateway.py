"""The MCP gateway's tables: upstream servers, allow-lists, tool pins, waiting calls, and
what each agent last read from an untrusted tool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aims.storage.schema.base import TS, Base

__all__ = ["GatewayAllow", "GatewayCall", "GatewayExposure", "GatewayPin", "GatewayServer"]


class GatewayServer(Base):
    """An upstream MCP server the gateway may forward calls to.

    ``credential`` names where the gateway's own credential for this server is
    kept (``env:NAME`` or ``file:PATH``), never the secret itself.
    """

    __tablename__ = "gateway_servers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    transport: Mapped[str] = mapped_column(String(20), nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    credential: Mapped[str | None] = mapped_column(Text, nullable=True)
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class GatewayAllow(Base):
    """One agent may call one tool (``*``: every tool) of one server, within ``constraints``."""

    __tablename__ = "gateway_allows"
    __table_args__ = (UniqueConstraint("agent", "server_id", "tool"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("gateway_servers.id"), nullable=False)
    tool: Mapped[str] = mapped_column(String(200), nullable=False)
    constraints: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class GatewayPin(Base):
    """The approved definition of one upstream tool, and the last one seen.

    ``status``: ``new`` (seen, never approved), ``approved`` (the seen
    definition hashes to ``sha256``) or ``changed`` (it no longer does: the
    tool is blocked until approved again; ``incident_id`` is the rug-pull
    incident opened once for the change).
    """

    __tablename__ = "gateway_pins"
    __table_args__ = (UniqueConstraint("server_id", "tool"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("gateway_servers.id"), nullable=False)
    tool: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    seen_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    seen_definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    seen_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class GatewayCall(Base):
    """A call to a high-risk tool waiting for a person's decision.

    ``arguments`` are kept only while the call waits, for the approver to
    read; they are cleared once it is decided or has expired.
    """

    __tablename__ = "gateway_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(200), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    server: Mapped[str] = mapped_column(String(64), nullable=False)
    tool: Mapped[str] = mapped_column(String(200), nullable=False)
    arguments: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")


class GatewayExposure(Base):
    """The last result an agent received from a tool whose results carry outside text.

    Kept in the store rather than in one server process's memory, so that every
    worker of ``aims serve`` holds the agent's next calls to the same rule.
    """

    __tablename__ = "gateway_exposures"

    agent: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(300), nullable=False)
    at: Mapped[datetime] = mapped_column(TS, nullable=False)

"""What an agent last read from a tool whose results carry outside text.

Screening reads what a text asks of a model, and misses an attack worded in
its context's own words (docs/screening.md, "On representative traffic"). The
harm such an attack does needs the agent to act on it: to send data out, to
share, pay or delete. So the gateway can hold those acts for a person for a
while after the agent has read outside text, whatever the screening said of
it: ``gateway.untrusted`` names the tools whose results carry outside text
(a web fetch, an inbox, a ticket queue), ``gateway.after_untrusted`` the tools
whose calls then wait for a person, for ``gateway.untrusted_window``.

The newest such result per agent is kept in the store, not in one server
process's memory, so that every worker of ``aims serve`` holds the agent to
the rule, and a restart does not forget it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from aims.clock import now_utc
from aims.storage.schema import GatewayExposure
from aims.workspace import Workspace

__all__ = ["Exposure", "exposed_by", "note_untrusted"]


@dataclass(frozen=True)
class Exposure:
    """The tool (``SERVER/TOOL``) whose result the agent last received, and when."""

    source: str
    at: datetime


def note_untrusted(ws: Workspace, agent: str, source: str, at: datetime | None = None) -> None:
    """Record that ``agent`` received a result of ``source`` (``SERVER/TOOL``) ``at``."""
    at = at or now_utc()
    for attempt in (1, 2):
        try:
            with ws.db.session() as s:
                row = s.get(GatewayExposure, agent)
                if row is None:
                    s.add(GatewayExposure(agent=agent, source=source, at=at))
                elif row.at <= at:
                    row.source, row.at = source, at
            return
        except IntegrityError:
            # Another server process added the agent's row first: update it instead.
            if attempt == 2:
                raise


def exposed_by(
    ws: Workspace, agent: str, window_seconds: float, now: datetime | None = None
) -> Exposure | None:
    """The untrusted result ``agent`` received within the last ``window_seconds``, or None."""
    now = now or now_utc()
    # Read on the call path of every held-after tool: as a reader, it takes no write lock.
    with ws.db.reading(), ws.db.session() as s:
        row = s.get(GatewayExposure, agent)
        if row is None or row.at < now - timedelta(seconds=window_seconds):
            return None
        return Exposure(row.source, row.at)

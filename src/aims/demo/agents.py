"""The demo's agent chapter: an agent works through the MCP gateway and through aims' own ``/mcp``.

An agent principal with a human owner gets a key of its own. The help desk's
MCP server (:mod:`aims.demo.agents_upstream`) is registered in the gateway's
inventory with its owner, who approves (pins) its tools, and the agent's
allow-list names the few it may call. The agent then exchanges its key for
short-lived tokens bound to one resource each and talks MCP with the SDK's own
client: an allowed call passes, a call outside its allow-list is refused, an
injection in a ticket's text is cut out of the result, a comment on that ticket
waits for a person (tickets carry outside text), and when the help desk
rewrites a tool's description with hidden instructions the gateway withdraws
the tool and opens an incident for the server's owner. Through ``/mcp`` the
agent reads the model's health and proposes a promotion; only a person decides it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aims.demo.agents_upstream import NAME as UPSTREAM
from aims.demo.agents_upstream import start_helpdesk
from aims.demo.team import ENGINEER, SCIENTIST, acting_as

if TYPE_CHECKING:
    from aims.workspace import Workspace

AGENT = "helpdesk-agent"
"""The agent: it triages the help desk's tickets for the scientist who owns it."""
OWNER = SCIENTIST
"""The agent's human owner."""
DESK_OWNER = ENGINEER
"""Who answers for the help desk's MCP server, approves its tools and decides the proposal."""
ALLOWED: dict[str, dict[str, Any]] = {
    "read_file": {"path": {"prefix": "/shared/runbooks/"}},
    "list_tickets": {},
    "get_ticket": {"ticket": {"pattern": "^OPS-[0-9]+$"}},
    "add_comment": {"ticket": {"pattern": "^OPS-[0-9]+$"}},
}
"""The agent's allow-list on the help desk, with argument constraints (no ``delete_file``)."""
AUDITED = ("gateway.", "mcp.", "promotion_request.", "incident.")
"""The audit actions the chapter's table shows."""


def agents_chapter(
    ws: Workspace,
    url: str,
    step: Callable[[str], None],
    out: Console,
    *,
    model: str,
    version: int,
) -> dict[str, Any]:
    """Run the chapter against the aims server at ``url`` serving ``ws``; return what happened.

    ``model@version`` is what the agent proposes for staging. The help desk is
    started here and stopped before returning.
    """
    start, began = _last_seq(ws), time.perf_counter()
    secret_file = ws.root / "helpdesk.credential"
    secret = secrets.token_urlsafe(24)  # the gateway's own credential for the help desk
    secret_file.write_text(secret + "\n", encoding="utf-8")
    secret_file.chmod(0o600)  # the gateway refuses a credential file others can read
    desk = start_helpdesk(secret)
    try:
        with acting_as(ENGINEER):
            key = _enrol(ws, str(ws.settings.project), desk.url, secret_file)
        step(
            f"agent {AGENT} (owner {OWNER}) enrolled with a 1 h key; MCP server {UPSTREAM} "
            f"(owner {DESK_OWNER}) in the gateway's inventory, reached with the gateway's own "
            f"credential; allow-list: {', '.join(ALLOWED)} (read_file under /shared/runbooks/)"
        )
        summary = _through_gateway(ws, url, key, desk, step)
        summary["gateway_token_at_mcp"] = _wrong_audience(url, summary["tokens"]["gateway"], step)
        own = _through_aims_mcp(ws, url, key, step, model=model, version=version)
        summary["tokens"]["mcp"] = own.pop("token")
        summary |= own
    finally:
        desk.stop()
    # The tokens stay out of the summary, which ``aims demo --format json`` prints.
    tokens = [key, *summary.pop("tokens").values()]
    summary["upstream_saw_only_gateway_credential"] = set(desk.seen) == {f"Bearer {secret}"}
    leaked = [s for s in desk.seen if any(t in s for t in tokens)]
    summary["upstream_requests"] = len(desk.seen)
    summary["token_reached_upstream"] = bool(leaked)
    only = (
        "only the gateway's own credential"
        if summary["upstream_saw_only_gateway_credential"]
        else "other credentials too"
    )
    step(
        f"the help desk saw {len(desk.seen)} requests, with {only}: the agent's key and "
        f"tokens reached it {len(leaked)} times"
    )
    calls = len(summary["calls"]) + 2  # and the held comment, and the call of the poisoned tool
    summary["audit"] = _audit_table(ws, start, out, calls)
    summary["seconds"] = round(time.perf_counter() - began, 2)
    return summary


def _enrol(ws: Workspace, project: str, desk_url: str, secret_file: Path) -> str:
    """What the admin does: the agent, its key, the inventory entry and the allow-list."""
    from aims.services import identity
    from aims.services.gateway import allowlist, inventory
    from aims.services.keys import create_key

    known = {p["name"] for p in identity.list_principals(ws)}
    for person in (OWNER, DESK_OWNER):
        if person not in known:
            identity.add_principal(ws, person, kind="human", actor=ENGINEER)
    identity.add_principal(ws, AGENT, kind="agent", owner=OWNER, actor=ENGINEER)
    identity.grant(ws, AGENT, role="scientist", project=project, actor=ENGINEER)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    _, key = create_key(
        ws,
        project=project,
        role="scientist",
        actor=ENGINEER,
        name=f"{AGENT} key",
        principal=AGENT,
        expires_at=expires,
    )
    inventory.add_server(
        ws,
        UPSTREAM,
        owner=DESK_OWNER,
        url=desk_url,
        credential=f"file:{secret_file}",
        project=project,
        actor=ENGINEER,
    )
    for tool, constraints in ALLOWED.items():
        allowlist.allow(ws, AGENT, UPSTREAM, tool, constraints=constraints, actor=ENGINEER)
    return key


def token(url: str, key: str, resource: str, scope: str | None = None) -> dict[str, Any]:
    """The OAuth client-credentials exchange: ``key`` for a token bound to ``resource``."""
    form = {"grant_type": "client_credentials", "resource": resource}
    if scope:
        form["scope"] = scope
    r = httpx.post(f"{url}/oauth/token", data=form, auth=(AGENT, key), timeout=60)
    if r.status_code != 200:
        raise RuntimeError(f"token for {resource} answered {r.status_code}: {r.text}")
    answer: dict[str, Any] = r.json()
    return answer


def session(endpoint: str, bearer: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``work(client)`` in one MCP SDK client session with ``endpoint``."""
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> Any:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=120)
        transport = streamable_http_client(endpoint, http_client=http)
        async with http, Client(transport, cache=None) as client:
            return await work(client)

    # In a thread of its own: the caller may already run an event loop (a notebook, or a
    # test driving a browser), and anyio.run refuses to start a second one in the same thread.
    with ThreadPoolExecutor(1, thread_name_prefix="aims-demo-mcp") as pool:
        return pool.submit(anyio.run, main).result()


def text_of(result: Any) -> tuple[bool, str]:
    """Whether a tool result is an error, and its text."""
    return bool(result.is_error), " ".join(c.text for c in result.content if c.type == "text")


def _through_gateway(
    ws: Workspace, url: str, key: str, desk: Any, step: Callable[[str], None]
) -> dict[str, Any]:
    from aims.services.gateway import pins
    from aims.services.monitor.incidents import list_incidents

    endpoint = f"{url}/gateway/mcp"
    grant = token(url, key, endpoint)
    bearer = grant["access_token"]
    step(
        f"{AGENT}: exchanged its key for a token bound to {endpoint}, valid "
        f"{grant['expires_in']} s (no use anywhere else, /mcp included)"
    )

    async def names(client: Any) -> list[str]:
        return sorted(t.name for t in (await client.list_tools()).tools)

    before = session(endpoint, bearer, names)
    seen = sorted(p["tool"] for p in pins.list_pins(ws, UPSTREAM))
    with acting_as(DESK_OWNER):
        for tool in seen:
            pins.approve_pin(ws, UPSTREAM, tool, actor=DESK_OWNER)
    offered = session(endpoint, bearer, names)
    step(
        f"first listing: {len(before)} tools offered, the gateway saw {len(seen)} new ones; "
        f"{DESK_OWNER} reviewed and pinned each definition (SHA-256); the agent is now "
        f"offered {', '.join(offered)}"
    )

    async def work(client: Any) -> dict[str, tuple[bool, str]]:
        calls = {
            "read_file": ("read_file", {"path": "/shared/runbooks/flight-delay.md"}),
            "outside_prefix": ("read_file", {"path": "/shared/runbooks/../hr/salaries.csv"}),
            "delete_file": ("delete_file", {"path": "/shared/runbooks/flight-delay.md"}),
            "get_ticket": ("get_ticket", {"ticket": "OPS-8"}),
        }
        return {
            what: text_of(await client.call_tool(f"{UPSTREAM}__{tool}", arguments))
            for what, (tool, arguments) in calls.items()
        }

    results = session(endpoint, bearer, work)
    step(f"{AGENT}: read_file of a runbook allowed: {results['read_file'][1]!r}")
    step(f"{AGENT}: read_file outside /shared/runbooks/ refused: {results['outside_prefix'][1]}")
    step(f"{AGENT}: delete_file refused: {results['delete_file'][1]}")
    step(
        f"{AGENT}: ticket OPS-8 carried a prompt injection; the gateway screened the result "
        f"and forwarded: {results['get_ticket'][1]!r}"
    )

    held = _held_comment(ws, endpoint, bearer)
    step(
        f"{AGENT}: add_comment on OPS-8 right after reading that ticket waited for a person "
        f"(tickets carry outside text: gateway.untrusted); {held['decided_by']} approved it: "
        f"{held['text']!r}"
    )

    desk.poison()
    after = session(endpoint, bearer, names)
    poisoned = session(
        endpoint,
        bearer,
        lambda c: _call(c, f"{UPSTREAM}__add_comment", {"ticket": "OPS-7", "comment": "done"}),
    )
    incidents = [
        i
        for i in list_incidents(ws)
        if i["trigger"] == "tool_definition_changed" and i["evidence"]["tool"] == "add_comment"
    ]
    incident = incidents[0] if incidents else None
    opened = (
        f"incident #{incident['id']} about {incident['about']} ({incident['kind']}, "
        f"{incident['severity']}) opened for {incident['owner']}"
        if incident
        else "no incident opened"
    )
    step(
        f"{UPSTREAM} rewrote add_comment's description with hidden instructions (a rug pull): "
        f"the gateway withdrew it ({len(after)} tools offered now), {opened}; calling it: "
        f"{poisoned[1]}"
    )
    return {
        "tokens": {"gateway": bearer},
        "offered": offered,
        "offered_after_poison": after,
        "calls": {what: {"error": e, "text": t} for what, (e, t) in results.items()},
        "poisoned_call": {"error": poisoned[0], "text": poisoned[1]},
        "held_comment": held,
        "incident": incident and {k: incident[k] for k in ("id", "owner", "kind", "severity")},
    }


def _held_comment(ws: Workspace, endpoint: str, bearer: str) -> dict[str, Any]:
    """The agent comments on the ticket it has just read: the call waits for a person (the
    help desk's owner, not the agent's), who approves it."""
    from aims.services.gateway import calls

    comment = {"ticket": "OPS-8", "comment": "Checked the summer schedule feed; delay explained."}
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            session,
            endpoint,
            bearer,
            lambda c: _call(c, f"{UPSTREAM}__add_comment", comment),
        )
        deadline = time.monotonic() + 30
        pending = calls.list_calls(ws)
        while not pending and time.monotonic() < deadline and not waiting.done():
            time.sleep(0.1)
            pending = calls.list_calls(ws)
        if pending:
            with acting_as(DESK_OWNER):
                calls.decide(
                    ws, pending[0]["id"], approve=True, actor=DESK_OWNER, note="routine triage"
                )
        error, text = waiting.result(timeout=60)
    return {
        "error": error,
        "text": text,
        "reason": pending[0]["reason"] if pending else "",
        "decided_by": DESK_OWNER if pending else None,
    }


async def _call(client: Any, name: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    return text_of(await client.call_tool(name, arguments))


def _wrong_audience(url: str, bearer: str, step: Callable[[str], None]) -> int:
    """Show the gateway's token opening nothing else: ``/mcp`` answers it 401."""
    r = httpx.post(
        f"{url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=60,
    )
    challenge = r.headers.get("www-authenticate", "")
    error = challenge.partition('error="')[2].partition('"')[0] or "no error named"
    step(f"{AGENT}: its gateway token sent to {url}/mcp: {r.status_code} ({error}), wrong audience")
    return r.status_code


def _through_aims_mcp(
    ws: Workspace,
    url: str,
    key: str,
    step: Callable[[str], None],
    *,
    model: str,
    version: int,
) -> dict[str, Any]:
    from aims.errors import PermissionDenied
    from aims.services import promotion_requests

    endpoint = f"{url}/mcp"
    grant = token(url, key, endpoint, scope="aims:read aims:propose")
    reason = f"{model}@{version} looks ready for staging; please review its evaluation"

    async def work(client: Any) -> dict[str, Any]:
        tools = sorted(t.name for t in (await client.list_tools()).tools)
        health = await client.call_tool("monitoring_summary", {"model": model})
        proposal = await client.call_tool(
            "request_promotion",
            {"model": model, "version": version, "stage": "staging", "reason": reason},
        )
        return {"tools": tools, "health": text_of(health), "proposal": text_of(proposal)}

    done = session(endpoint, grant["access_token"], work)
    step(
        f"{AGENT}: token for {endpoint} with scopes {grant['scope']!r}; its tools: "
        f"{len(done['tools'])}, none of them approves, promotes or creates keys"
    )
    step(f"{AGENT}: monitoring_summary of {model}: {_health_line(done['health'])}")
    if done["proposal"][0]:
        raise RuntimeError(f"the promotion request was refused: {done['proposal'][1]}")
    request = json.loads(done["proposal"][1])
    rid = int(request["id"])
    step(f"{AGENT}: proposed {model}@{version} for staging: promotion request #{rid}, open")
    try:
        promotion_requests.decide(ws, rid, actor=AGENT, approve=True)
        agent_refused = ""
    except PermissionDenied as exc:
        agent_refused = str(exc)
    step(f"{AGENT} tried to decide its own request: refused, {agent_refused}")
    with acting_as(DESK_OWNER):
        decided = promotion_requests.decide(
            ws, rid, actor=DESK_OWNER, approve=True, note="read the agent's proposal"
        )
    step(f"{DESK_OWNER} approved request #{rid}: {model}@{version} is in staging")
    return {
        "mcp_tools": done["tools"],
        "health": done["health"][1],
        "request": {"id": rid, "status": decided["status"], "decided_by": decided["decided_by"]},
        "agent_decide_refused": agent_refused,
        "token": grant["access_token"],
    }


def _health_line(health: tuple[bool, str]) -> str:
    """One line of the health answer: its window's counts where it has them."""
    error, text = health
    if error:
        return text
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:200]
    window = doc.get("window") or {}
    incidents = doc.get("active_incidents", 0)
    if not window:
        return f"no window yet of the version now in production, {incidents} active incidents"
    drifted = window.get("drifted_features") or []
    return (
        f"newest window of v{window.get('version')}: {window.get('predictions')} predictions, "
        f"{len(drifted)} drifted features ({', '.join(drifted) or 'none'}), "
        f"{incidents} active incidents"
    )


def _audit_table(ws: Workspace, start: int, out: Console, calls: int) -> list[dict[str, Any]]:
    """The chapter's audit events, waiting briefly for the records of the ``calls``
    gateway calls, which the gateway writes in batches."""
    from aims.services import audit

    def events() -> list[dict[str, Any]]:
        rows = audit.query(ws.db, audit.EventFilter(after=start))
        return [e for e in rows if e["action"].startswith(AUDITED)]

    # The gateway writes its call records from a background thread, once a second.
    deadline = time.monotonic() + 10
    found = events()
    while time.monotonic() < deadline and calls > sum(
        len(e["payload"]["calls"]) for e in found if e["action"] == "gateway.calls"
    ):
        time.sleep(0.2)
        found = events()
    table = Table(title="audit log of the agent chapter")
    for col in ("seq", "actor", "action", "subject"):
        table.add_column(col)
    for e in found:
        table.add_row(str(e["seq"]), escape(e["actor"]), escape(e["action"]), escape(e["subject"]))
    out.print(table)
    return [{k: e[k] for k in ("seq", "actor", "action", "subject", "payload")} for e in found]


def _last_seq(ws: Workspace) -> int:
    from aims.services import audit

    head, _ = audit.head_of(ws.db)
    return head[0] if head else 0

"""The gateway's handling of one agent's ``tools/list`` and ``tools/call``.

A call passes, in order, and is refused at the first check it fails:

1. the agent's and the tool's rate limits (:class:`aims.server.ratelimit.RateLimiter`);
2. the agent's allow-list, with the entry's argument constraints;
3. the tool's pin (approved, and unchanged since) and the screening of its description;
4. the screening of the arguments (``deny`` refuses, ``redact`` forwards them redacted);
5. for a high-risk tool, or a tool of ``after_untrusted`` called soon after the agent
   read a result of an ``untrusted`` tool, a person's approval within the policy's timeout;

then it is forwarded upstream with the gateway's own credential, and the
result is screened before the agent sees it. Each refusal reaches the agent as
a tool result with ``isError`` and a sentence saying what was refused and why,
is counted, audited, and noted as a refused call of the agent's key, so that a
burst of them opens a security incident (:mod:`aims.services.monitor.refusals`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from aims.errors import InvalidInput
from aims.server.gateway.catalog import SEPARATOR, Agent, Catalog, Tool
from aims.server.gateway.lanes import ScreeningLanes
from aims.server.gateway.recorder import GatewayMetrics, Recorder, hashed_arguments
from aims.server.gateway.screen import (
    OFF_LOOP_CHARS,
    Outcome,
    screen_arguments,
    screen_result,
    text_size,
)
from aims.server.gateway.upstream import UpstreamError
from aims.server.ratelimit import RateLimiter
from aims.services.gateway.calls import call_status, file_call
from aims.services.gateway.constraints import check_arguments
from aims.services.gateway.exposure import exposed_by, note_untrusted
from aims.services.gateway.policy import GatewayPolicy

__all__ = ["GatewayProxy", "Refused"]

APPROVAL_POLL_SECONDS = 0.2
"""How often a waiting call looks for a person's decision in the store."""


class Refused(Exception):
    """A call the gateway will not forward: ``reason`` is a stable code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class GatewayProxy:
    """The gateway's state and its handling of calls (see the module docstring)."""

    def __init__(
        self,
        ws: Any,
        policy: GatewayPolicy,
        *,
        metrics: GatewayMetrics,
        salt: str,
        note_refusal: Any = None,
        spans: Any = None,
    ) -> None:
        self.ws = ws
        self.policy = policy
        self.catalog = Catalog(ws, policy)
        self.metrics = metrics
        self.salt = salt
        self.agent_limiter = RateLimiter(policy.agent_rate, policy.agent_burst)
        self.tool_limiter = RateLimiter(policy.tool_rate, policy.tool_burst)
        self.listing_limiter = RateLimiter(policy.list_rate, policy.list_burst)
        self.recorder = Recorder(ws, spans=spans)
        self.note_refusal = note_refusal or (lambda agent, reason, path: None)
        # Large values are screened off the event loop (see OFF_LOOP_CHARS), on two threads
        # of which one agent holds at most one, so its large calls cannot hold up another's.
        self._screening = ScreeningLanes(2)

    async def aclose(self) -> None:
        """Write the audit events still queued; close the upstream connections."""
        await run_in_threadpool(self.recorder.close)
        await self.catalog.aclose()
        self._screening.shutdown()

    async def agent(self, name: str | None) -> Agent | None:
        """The enabled agent principal ``name``, reading the store again if it is new."""
        if name is None:
            return None
        agent = self.catalog.agents.get(name)
        if agent is None or self.catalog.stale():
            await self.catalog.refresh()
            agent = self.catalog.agents.get(name)
        return agent if agent is not None and agent.enabled else None

    async def list_tools(self, agent: Agent) -> list[dict[str, Any]]:
        """The tools ``agent`` may call: allowed, pinned, with clean descriptions.

        A listing reads the upstream lists again, within a small per-agent budget
        (``list_rate``, ``list_burst``); past it the view in memory is served, so an agent
        listing in a loop cannot turn the gateway against the upstream servers.
        """
        if self.catalog.stale() or not self.listing_limiter.wait_time(agent.name):
            await self.catalog.refresh()
        shown, withheld = self.catalog.offered(agent.name)
        for reason, n in withheld.items():
            self.metrics.blocked_tools.labels(reason).inc(n)
        return [t.for_agent() for t in shown]

    async def call(self, agent: Agent, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The result of ``agent`` calling the tool exposed as ``name``; refusals as error results."""
        started = time.perf_counter()
        if self.catalog.stale():
            await self.catalog.refresh()
        tool = self.catalog.tools.get(name)
        server, upstream_name = (tool.server, tool.name) if tool else ("", name)
        record: dict[str, Any] = {
            "owner": agent.owner,
            "server": server,
            "tool": upstream_name,
            "project": self.catalog.upstreams[server].project if tool else None,
            "arguments": hashed_arguments(arguments, self.salt),
            "findings": [],
        }
        try:
            result, verdict = await self._call(agent, tool, name, arguments, record)
        except Refused as refusal:
            self.metrics.refusals.labels(refusal.reason).inc()
            self.metrics.count_call(server, upstream_name, "deny")
            self.note_refusal(agent, refusal.reason, f"/gateway/mcp/{name}")
            # The reason's code only: the message may quote argument values, which stay out of the log.
            record.update(verdict="deny", reason=refusal.reason)
            self._audit(agent, name, record, started)
            return {"content": [{"type": "text", "text": refusal.message}], "isError": True}
        self.metrics.count_call(server, upstream_name, verdict)
        record["verdict"] = verdict
        self._audit(agent, name, record, started)
        return result

    def _audit(self, agent: Agent, name: str, record: dict[str, Any], started: float) -> None:
        record["at"] = datetime.now(UTC).isoformat(timespec="milliseconds")
        record["ms"] = round((time.perf_counter() - started) * 1000, 3)
        self.recorder.record(agent.name, f"mcp:{name}", record)

    async def _call(
        self,
        agent: Agent,
        tool: Tool | None,
        name: str,
        arguments: dict[str, Any],
        record: dict[str, Any],
    ) -> tuple[dict[str, Any], str]:
        if self.agent_limiter.wait_time(agent.name):
            raise Refused(
                "agent_rate_limited",
                f"refused: {agent.name} is over its rate of {self.policy.agent_rate:g} calls/s; "
                "slow down and try again",
            )
        allowed = self.catalog.allowed.get(agent.name)
        constraints = (
            allowed.constraints(tool.server, tool.name) if tool and allowed is not None else None
        )
        if tool is None and allowed is not None:
            server = name.partition(SEPARATOR)[0]
            if server in self.catalog.unavailable and any(s == server for s, _ in allowed.entries):
                raise Refused(
                    "upstream_unavailable",
                    f"refused: MCP server {server} cannot be reached just now; try again later",
                )
        if tool is None or constraints is None:
            raise Refused(
                "not_allowed",
                f"refused: {name} is not on the allow-list of {agent.name}; ask a security "
                "engineer to allow it with 'aims gateway allow'",
            )
        if self.tool_limiter.wait_time(name):
            raise Refused(
                "tool_rate_limited",
                f"refused: {name} is over its rate of {self.policy.tool_rate:g} calls/s; "
                "try again shortly",
            )
        withheld = self.catalog.withheld(tool)
        if withheld is not None:
            raise Refused(withheld, _withheld_message(tool, withheld))
        problems = check_arguments(constraints, arguments)
        if problems:
            raise Refused("constraint", f"refused: {name}: " + "; ".join(problems))
        try:
            screened = await self._screen(agent, screen_arguments, arguments)
        except InvalidInput as exc:  # nested too deep to screen: not forwarded unscreened
            raise Refused("arguments_unreadable", f"refused: {exc.message}") from None
        self._count("arguments", screened.findings, record)
        record["screening"] = {"arguments": screened.verdict}
        if screened.verdict == "deny":
            raise Refused(
                "arguments_screened",
                f"refused: the arguments of {name} look like a prompt injection or an "
                f"exfiltration attempt ({_rules(screened.findings)})",
            )
        reason = await self._why_wait(agent, tool, record)
        if reason:
            record["call"] = await self._wait_for_person(agent, tool, screened.value, reason)
        client = self.catalog.clients.get(tool.server)
        if client is None:
            raise Refused(
                "upstream_unavailable", f"refused: MCP server {tool.server} is unavailable"
            )
        try:
            result = await client.call_tool(tool.name, screened.value)
        except UpstreamError as exc:
            raise Refused("upstream_error", f"refused: {exc}") from None
        out = await self._screen(agent, screen_result, result)
        self._count("result", out.findings, record)
        record["screening"]["result"] = out.verdict
        if out.verdict == "deny":
            raise Refused(
                "result_screened",
                f"refused: the result of {name} carried a prompt injection or an exfiltration "
                f"attempt ({_rules(out.findings)}) and was withheld",
            )
        if self.policy.after_untrusted and self.policy.is_untrusted(tool.server, tool.name):
            # Delivered outside text: the agent's next risky acts wait for a person a while.
            source = f"{tool.server}/{tool.name}"
            await run_in_threadpool(note_untrusted, self.ws, agent.name, source)
        verdicts = [screened.verdict, out.verdict]
        verdict = next((v for v in ("redact", "warn") if v in verdicts), "allow")
        return out.value, verdict

    async def _screen(
        self,
        agent: Agent,
        screen: Callable[[Any, GatewayPolicy], Outcome],
        value: dict[str, Any],
    ) -> Outcome:
        """``screen(value, policy)``: on the event loop for small values, on a worker thread
        for large ones, in ``agent``'s lane."""
        if text_size(value, OFF_LOOP_CHARS) < OFF_LOOP_CHARS:
            return screen(value, self.policy)
        return await self._screening.run(agent.name, screen, value, self.policy)

    def _count(self, place: str, findings: list[dict[str, Any]], record: dict[str, Any]) -> None:
        for f in findings:
            self.metrics.findings.labels(place, f["category"]).inc()
            record["findings"].append(
                {"place": place, "category": f["category"], "rule": f["rule"], "path": f["path"]}
            )

    async def _why_wait(self, agent: Agent, tool: Tool, record: dict[str, Any]) -> str:
        """Why the call must wait for a person, or "" when it need not."""
        if self.policy.is_high_risk(tool.server, tool.name):
            record["held"] = "high_risk"
            return "a high-risk tool (gateway.high_risk)"
        if not self.policy.waits_after_untrusted(tool.server, tool.name):
            return ""
        seen = await run_in_threadpool(
            exposed_by, self.ws, agent.name, self.policy.untrusted_window_seconds
        )
        if seen is None:
            return ""
        record["held"], record["after_untrusted"] = "after_untrusted", seen.source
        return (
            f"{agent.name} read a result of {seen.source} at {seen.at:%Y-%m-%d %H:%M:%S} UTC, "
            "which carries outside text (gateway.untrusted, gateway.after_untrusted)"
        )

    async def _wait_for_person(
        self, agent: Agent, tool: Tool, arguments: dict[str, Any], reason: str
    ) -> int:
        call_id = await run_in_threadpool(
            lambda: file_call(
                self.ws,
                agent=agent.name,
                owner=agent.owner,
                server=tool.server,
                tool=tool.name,
                arguments=arguments,
                timeout_seconds=self.policy.approval_timeout_seconds,
                reason=reason,
            )
        )
        while True:
            status = await run_in_threadpool(call_status, self.ws, call_id)
            if status == "approved":
                return call_id
            if status == "denied":
                raise Refused(
                    "denied_by_person", f"refused: a person denied call {call_id} of {tool.exposed}"
                )
            if status == "expired":
                raise Refused(
                    "approval_timeout",
                    f"refused: call {call_id} of {tool.exposed} waited "
                    f"{self.policy.approval_timeout_seconds:g} s for a person's approval and got none",
                )
            await asyncio.sleep(APPROVAL_POLL_SECONDS)


def _rules(findings: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({f["rule"] for f in findings}))


def _withheld_message(tool: Tool, reason: str) -> str:
    if reason == "not_approved":
        return (
            f"refused: {tool.exposed} has not been approved by the owner of {tool.server} yet "
            f"('aims gateway pins approve {tool.server} {tool.name}')"
        )
    if reason == "definition_changed":
        return (
            f"refused: the definition of {tool.exposed} changed since it was approved; it is "
            "blocked until the server's owner approves it again"
        )
    return f"refused: the description of {tool.exposed} failed screening ({_rules(tool.description.findings)})"

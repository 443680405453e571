"""Screening of what passes the gateway: tool descriptions, call arguments and tool results.

The rules and the verdict of each finding are those of :mod:`aims.core.screening`
under the ``gateway.screening`` policy; this module applies them to MCP's
shapes. A place's verdict is the strongest of its texts'. With ``redact`` the
value forwarded has the findings cut out of its strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aims.core.screening import Screening, screen, screen_json
from aims.core.screening.findings import strongest
from aims.services.gateway.policy import GatewayPolicy

__all__ = ["Outcome", "screen_arguments", "screen_description", "screen_result"]


@dataclass
class Outcome:
    """The verdict at one place, its findings (as plain data) and the value to forward."""

    verdict: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    value: Any = None


def _found(result: Screening, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for f in result.findings:
        d = f.to_dict()
        path = str(d.get("path") or "")
        d["path"] = (
            prefix + path[1:] if path.startswith("$") and prefix else (path or prefix or "$")
        )
        out.append(d)
    return out


def screen_description(tool: dict[str, Any], policy: GatewayPolicy) -> Outcome:
    """The verdict on a tool's description and the texts of its input schema."""
    text = screen(str(tool.get("description") or ""), "description", policy.screening)
    schema = screen_json(tool.get("inputSchema") or {}, "description", policy.screening)
    findings = _found(text, "$.description") + _found(schema, "$.inputSchema")
    return Outcome(strongest([text.verdict, schema.verdict]), findings, tool)


def screen_arguments(arguments: dict[str, Any], policy: GatewayPolicy) -> Outcome:
    """The verdict on a call's arguments, with the arguments to forward."""
    result = screen_json(arguments, "arguments", policy.screening)
    value = result.redacted if result.verdict == "redact" else arguments
    return Outcome(result.verdict, _found(result), value)


def screen_result(result: dict[str, Any], policy: GatewayPolicy) -> Outcome:
    """The verdict on a tool's result, with the result to give the agent."""
    verdicts: list[str] = []
    findings: list[dict[str, Any]] = []
    content = []
    for i, block in enumerate(result.get("content") or []):
        if isinstance(block, dict) and block.get("type") == "text":
            s = screen(str(block.get("text", "")), "result", policy.screening)
            verdicts.append(s.verdict)
            findings += _found(s, f"$.content[{i}]")
            if s.verdict == "redact":
                block = {**block, "text": s.redacted}
        content.append(block)
    out = {k: v for k, v in result.items() if k not in ("content", "structuredContent")}
    out["content"] = content
    structured = result.get("structuredContent")
    if structured is not None:
        s = screen_json(structured, "result", policy.screening)
        verdicts.append(s.verdict)
        findings += _found(s, "$.structuredContent")
        out["structuredContent"] = s.redacted if s.verdict == "redact" else structured
    return Outcome(strongest(verdicts), findings, out)

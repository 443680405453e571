"""Screening of what passes the gateway: tool descriptions, call arguments and tool results.

The rules and the verdict of each finding are those of :mod:`aims.core.screening`
under the ``gateway.screening`` policy; this module applies them to MCP's
shapes. A place's verdict is the strongest of its texts'. With ``redact`` the
value forwarded has the findings cut out of its strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aims.core.screening import Screening, screen, screen_json
from aims.core.screening.findings import strongest
from aims.errors import InvalidInput
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
    """The verdict on a tool's result, with the result to give the agent.

    The texts of its ``text`` blocks and its ``structuredContent`` are screened
    in one pass (one :func:`~aims.core.screening.screen_json` of them all): a
    screening's cost is mostly fixed per call, and a result usually carries
    the same text twice (as a block and as structured content).
    """
    blocks = result.get("content") or []
    texts = [
        (i, str(block.get("text", "")))
        for i, block in enumerate(blocks)
        if isinstance(block, dict) and block.get("type") == "text"
    ]
    structured = result.get("structuredContent")
    screened: list[Any] = [text for _i, text in texts]
    if structured is not None:
        screened.append(structured)
    try:
        s = screen_json(screened, "result", policy.screening)
    except InvalidInput:  # nested too deep, one level deeper here than on its own
        return _screen_each(result, policy)
    if len(screened) > 1 and any(f.rule == FLOOD for f in s.findings):
        # Judged as a whole, a flood in one place would cut the others too: each place is
        # judged on its own, as when screened apart.
        return _screen_each(result, policy)
    # Paths of the screened list ($[n]...) back to the result's: a block's text or the
    # structured content.
    places = [f"$.content[{i}]" for i, _text in texts] + ["$.structuredContent"]
    findings = []
    for f in s.findings:
        d = f.to_dict()
        m = _ITEM.match(str(d.get("path") or ""))
        d["path"] = places[int(m[1])] + m[2] if m else "$"
        findings.append(d)
    content = list(blocks)
    out = {k: v for k, v in result.items() if k not in ("content", "structuredContent")}
    if s.verdict == "redact":
        # Strings without a finding to redact come back unchanged.
        for n, (i, text) in enumerate(texts):
            if s.redacted[n] != text:
                content[i] = {**blocks[i], "text": s.redacted[n]}
        if structured is not None:
            structured = s.redacted[-1]
    out["content"] = content
    if structured is not None:
        out["structuredContent"] = structured
    return Outcome(s.verdict, findings, out)


_ITEM = re.compile(r"\$\[(\d+)\](.*)", re.S)
FLOOD = "too-many-findings"
"""The finding of a text judged as a whole (:data:`aims.core.screening.screener.MAX_FINDINGS`)."""


def _screen_each(result: dict[str, Any], policy: GatewayPolicy) -> Outcome:
    """:func:`screen_result` screening each text and the structured content on its own."""
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

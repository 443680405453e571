"""Screening of what passes the gateway: tool descriptions, call arguments and tool results.

The rules and the verdict of each finding are those of :mod:`aims.core.screening`
under the ``gateway.screening`` policy; this module applies them to MCP's
shapes. A place's verdict is the strongest of its texts'. With ``redact`` the
value forwarded has the findings cut out of its strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from aims.core.screening import Screening, screen, screen_json
from aims.core.screening.findings import strongest
from aims.services.gateway.policy import GatewayPolicy

__all__ = [
    "OFF_LOOP_CHARS",
    "Outcome",
    "screen_arguments",
    "screen_description",
    "screen_result",
    "text_size",
]

OFF_LOOP_CHARS = 16_384
"""Arguments or a result holding at least this many characters of text are screened on a
worker thread, so that the other calls the server is answering go on meanwhile (a
megabyte of text takes a few hundred milliseconds to screen)."""


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

    A tool that returns structured content usually says the same again as text: the
    MCP SDK for Python wraps a plain return value ``v`` as ``{"result": v}`` beside a
    text block holding ``v``, and the specification asks a tool to give the JSON of its
    structured content as a text block too. Such a copy is screened once, and its
    verdict, findings and redaction hold for both places; everything else is screened
    on its own.
    """
    structured = result.get("structuredContent")
    blocks = result.get("content") or []
    done: dict[str, Screening] = {}  # text blocks' screenings by text
    mirrored: set[int] = set()  # text blocks that are the JSON of the structured content
    if structured is not None:
        for i, block in enumerate(blocks):
            if _text_of(block) is not None and _is_json_of(block["text"], structured):
                mirrored.add(i)
    verdicts: list[str] = []
    findings: list[dict[str, Any]] = []
    content = []
    for i, block in enumerate(blocks):
        text = _text_of(block)
        if text is not None and i not in mirrored:
            s = done.get(text)
            if s is None:
                s = done[text] = screen(text, "result", policy.screening)
            verdicts.append(s.verdict)
            findings += _found(s, f"$.content[{i}]")
            if s.verdict == "redact":
                block = {**block, "text": s.redacted}
        content.append(block)
    out = {k: v for k, v in result.items() if k not in ("content", "structuredContent")}
    out["content"] = content
    if structured is not None:
        s = _wrapped(structured, done) or screen_json(structured, "result", policy.screening)
        verdicts.append(s.verdict)
        findings += _found(s, "$.structuredContent")
        out["structuredContent"] = s.redacted if s.verdict == "redact" else structured
        if s.verdict == "redact":
            for i in mirrored:
                content[i] = {**content[i], "text": json.dumps(s.redacted, ensure_ascii=False)}
    return Outcome(strongest(verdicts), findings, out)


def text_size(value: Any, limit: int) -> int:
    """The characters of text in the JSON ``value`` (keys and strings), counted up to ``limit``.

    >>> text_size({"path": "a.txt", "lines": ["one", "two"]}, 100)
    20
    """
    size = 0
    stack = [value]
    while stack and size < limit:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, dict):
            size += sum(len(k) for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return size


def _text_of(block: Any) -> str | None:
    """The text of a text block, or None for any other block."""
    if isinstance(block, dict) and block.get("type") == "text":
        return str(block.get("text", ""))
    return None


def _is_json_of(text: str, structured: Any) -> bool:
    """Whether ``text`` is the JSON of ``structured`` (a copy the agent reads as text)."""
    if not text.startswith(("{", "[")):
        return False
    try:
        return bool(json.loads(text, object_pairs_hook=_no_repeats) == structured)
    except ValueError:
        return False


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A key given twice keeps only its last value when parsed, while the agent reads both:
    # such a text is not a copy.
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key is repeated")
    return out


def _wrapped(structured: Any, done: dict[str, Screening]) -> Screening | None:
    """The screening of ``{"result": v}`` when a text block holding ``v`` was screened
    (the Python SDK's structured form of a plain return value), else None."""
    if not isinstance(structured, dict) or len(structured) != 1:
        return None
    value = structured.get("result")
    s = done.get(value) if isinstance(value, str) else None
    if s is None:
        return None
    found = tuple(replace(f, path="$.result") for f in s.findings)
    redacted = {"result": s.redacted} if s.verdict == "redact" else None
    return Screening(s.verdict, found, redacted)

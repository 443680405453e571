"""The messages of a span, read the way its dialect keeps them.

Every dialect ends up as the same list of :class:`Message` (role, text,
finish reason), whether it sent a JSON attribute, flattened indexed
attributes, span events or one plain value; :func:`read_messages` is the
only reader, driven by a :class:`~aims.core.genai.dialects.Messages` entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aims.core.genai.dialects import Messages

__all__ = ["Message", "as_text", "read_messages", "system_text"]


@dataclass(frozen=True)
class Message:
    """One message: who spoke, the text (parts joined), and why generation stopped."""

    role: str | None
    text: str
    finish_reason: str | None = None


Event = tuple[str, Mapping[str, Any]]


def as_text(value: Any) -> str:
    """An attribute value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _parts_text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                kind = part.get("type", "text")
                if kind == "text":
                    texts.append(str(part.get("content", part.get("text", ""))))
                elif "content" in part or "result" in part or "arguments" in part:
                    # Tool calls and results: their data is the message's content too.
                    texts.append(as_text(part.get("content", part.get("result", part))))
        return "\n".join(t for t in texts if t)
    return as_text(content)


def _from_json(value: Any) -> list[Message]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [Message(None, value)]
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    out = []
    for m in value:
        if not isinstance(m, Mapping):
            continue
        content = m.get("parts", m.get("content"))
        role = m.get("role")
        reason = m.get("finish_reason")
        out.append(
            Message(
                None if role is None else str(role),
                _parts_text(content),
                None if reason is None else str(reason),
            )
        )
    return out


_INDEX_CACHE: dict[str, re.Pattern[str]] = {}


def _from_indexed(attrs: Mapping[str, Any], spec: Messages) -> list[Message]:
    assert spec.indexed is not None
    prefix, role_key, content_key, reason_key = spec.indexed
    pattern = _INDEX_CACHE.get(prefix)
    if pattern is None:
        pattern = _INDEX_CACHE[prefix] = re.compile(re.escape(prefix) + r"\.(\d+)\.")
    indexes = sorted({int(m.group(1)) for k in attrs if (m := pattern.match(k))})
    out = []
    for i in indexes:
        base = f"{prefix}.{i}."
        text = attrs.get(base + content_key)
        if text is None and spec.indexed_parts:
            parts = []
            n = 0
            while (part := attrs.get(base + spec.indexed_parts.format(m=n))) is not None:
                parts.append(str(part))
                n += 1
            text = "\n".join(parts) if parts else None
        role = attrs.get(base + role_key)
        reason = attrs.get(base + reason_key) if reason_key else None
        out.append(
            Message(
                None if role is None else str(role),
                "" if text is None else as_text(text),
                None if reason is None else str(reason),
            )
        )
    return out


def _from_events(events: Sequence[Event], spec: Messages) -> list[Message]:
    out = []
    for name, attrs in events:
        role = spec.events.get(name)
        if role is None:
            continue
        reason = attrs.get("finish_reason")
        bundled = attrs.get("gen_ai.prompt", attrs.get("gen_ai.completion"))
        if bundled is not None:
            out.extend(_from_json(bundled))
            continue
        if "content" in attrs:
            text = _parts_text(attrs["content"])
        elif "message" in attrs:
            message = _from_json(attrs["message"])
            text = message[0].text if message else ""
        else:
            text = ""
        out.append(
            Message(str(attrs.get("role", role)), text, None if reason is None else str(reason))
        )
    return out


def read_messages(
    attrs: Mapping[str, Any], events: Sequence[Event], spec: Messages
) -> list[Message]:
    """The messages ``spec`` says where to find, in order; empty when the span has none."""
    if spec.json_key and spec.json_key in attrs:
        return _from_json(attrs[spec.json_key])
    if spec.indexed is not None:
        found = _from_indexed(attrs, spec)
        if found:
            return found
    if spec.events:
        found = _from_events(events, spec)
        if found:
            return found
    if spec.value_key and spec.value_key in attrs:
        return [Message(None, as_text(attrs[spec.value_key]))]
    return []


def system_text(attrs: Mapping[str, Any], key: str) -> str | None:
    """The system instructions kept apart in attribute ``key`` (a JSON list of parts, or text)."""
    if not key or key not in attrs:
        return None
    value = attrs[key]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return _parts_text(value)

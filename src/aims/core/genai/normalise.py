"""One span, in whatever dialect it came, as one normalised row (:mod:`aims.core.genai.span`).

:func:`normalise` is pure: the span (already decoded from OTLP into a
:class:`RawSpan`) and the project's :class:`Options` in, a row out, or
:class:`SpanRejected` saying why the span cannot be stored. Every attribute
name it reads comes from the dialect table (:mod:`aims.core.genai.dialects`).

Message content is read here once, for the text features, the refusal flag
and the prompt hash that links a span to a registered version; what is kept
of it afterwards depends on the project's content policy: nothing (``off``,
the default), the text with personal data hashed (``redacted``), or all of
it (``full``). End-user ids are always hashed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aims.core.genai.dialects import EVALUATION_EVENT, EVALUATION_FIELDS, Dialect, dialect_of
from aims.core.genai.messages import Event, Message, read_messages, system_text
from aims.core.genai.pricing import PriceTable, builtin_prices
from aims.core.genai.redaction import keyed_hash, redact
from aims.core.genai.span import SPAN_FIELDS, TEXT_STATS_FIELDS

__all__ = [
    "CONTENT_POLICIES",
    "Linker",
    "Options",
    "RawSpan",
    "SpanRejected",
    "normalise",
    "prompt_sha256",
]

CONTENT_POLICIES = ("off", "redacted", "full")
_STATUS = {0: "unset", 1: "ok", 2: "error"}
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
#: Characters an application name keeps (it names a folder of the span store).
_APP_UNSAFE = re.compile(r"[^A-Za-z0-9._@:+-]")
_ROLES_OF_SYSTEM = frozenset({"system", "developer"})

Linker = Callable[[str | None, str | None, str | None], tuple[str, str] | None]
"""(application, version, prompt SHA-256) -> (registered name, version), or None."""


class SpanRejected(ValueError):
    """A span that cannot be stored; the message says why (it is sent back to the exporter)."""


@dataclass(frozen=True, slots=True)
class RawSpan:
    """A span as decoded from OTLP, before any dialect is applied."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: Mapping[str, Any]
    events: Sequence[Event] = ()
    resource: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    """What normalisation needs to know about the project the spans belong to."""

    project: str
    key: bytes
    """The workspace's salt: hashes end users, personal data and the n-grams."""
    content: str = "off"
    prices: PriceTable = field(default_factory=builtin_prices)
    application_attribute: str = "service.name"
    version_attribute: str = "service.version"
    link: Linker | None = None


def prompt_sha256(system: str | None) -> str | None:
    """SHA-256 (hex) of the system instructions, as the registry records a prompt's hash."""
    return None if not system else hashlib.sha256(system.encode("utf-8")).hexdigest()


_TEXT_TOOLS: list[Any] = []


def _text_tools() -> tuple[Any, Any, Any] | None:
    """(text_stats, hashed_ngrams, looks_like_refusal) when :mod:`aims.core.text` exists."""
    if not _TEXT_TOOLS:
        try:
            from aims.core.text.features import hashed_ngrams, text_stats  # type: ignore[import-not-found,unused-ignore]
            from aims.core.text.refusal import looks_like_refusal  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            _TEXT_TOOLS.append(None)
        else:
            _TEXT_TOOLS.append((text_stats, hashed_ngrams, looks_like_refusal))
    tools: tuple[Any, Any, Any] | None = _TEXT_TOOLS[0]
    return tools


def _check_ids(span: RawSpan) -> None:
    if not _HEX32.fullmatch(span.trace_id) or span.trace_id == "0" * 32:
        raise SpanRejected(f"span {span.name!r}: trace id must be 16 bytes, not all zero")
    if not _HEX16.fullmatch(span.span_id) or span.span_id == "0" * 16:
        raise SpanRejected(f"span {span.name!r}: span id must be 8 bytes, not all zero")
    if span.parent_span_id and not _HEX16.fullmatch(span.parent_span_id):
        raise SpanRejected(f"span {span.name!r}: parent span id must be 8 bytes or empty")
    if span.start_ns <= 0:
        raise SpanRejected(f"span {span.name!r}: start time is missing")
    if span.end_ns < span.start_ns:
        raise SpanRejected(f"span {span.name!r}: ends before it starts")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ",".join(map(str, value)) or None
    text = str(value)
    return text or None


def _count(value: Any) -> int | None:
    """A token count: a non-negative integer (sent as int, float or text), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = (
            int(value) if not isinstance(value, float) else int(value) if value.is_integer() else -1
        )
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**63 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _pick(attrs: Mapping[str, Any], keys: Sequence[str]) -> tuple[str | None, Any]:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return key, value
    return None, None


def _stats(text: str | None, tools: tuple[Any, Any, Any] | None, key: bytes) -> tuple[Any, Any]:
    if text is None or tools is None:
        return None, None
    stats = tools[0](text)
    ngrams = tools[1](text, key)
    return {f: getattr(stats, f) for f in TEXT_STATS_FIELDS}, [int(x) for x in ngrams]


def _joined(messages: Sequence[Message], *, skip_system: bool) -> str | None:
    texts = [m.text for m in messages if not (skip_system and m.role in _ROLES_OF_SYSTEM)]
    return "\n".join(texts) if texts else None


def _content(messages: Sequence[Message], system: str | None, options: Options) -> str | None:
    """The messages as stored under the content policy: JSON ``[{role, content}]`` or None."""
    if options.content == "off" or (not messages and system is None):
        return None
    items: list[dict[str, str | None]] = (
        [{"role": "system", "content": system}] if system is not None else []
    )
    items += [{"role": m.role, "content": m.text} for m in messages]
    if options.content == "redacted":
        for item in items:
            item["content"] = redact(item["content"] or "", options.key)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def _evaluations(events: Sequence[Event]) -> list[dict[str, Any]] | None:
    found = []
    for name, attrs in events:
        if name != EVALUATION_EVENT:
            continue
        found.append(
            {
                "name": _text(attrs.get(EVALUATION_FIELDS["name"])),
                "score_value": _number(attrs.get(EVALUATION_FIELDS["score_value"])),
                "score_label": _text(attrs.get(EVALUATION_FIELDS["score_label"])),
                "explanation": _text(attrs.get(EVALUATION_FIELDS["explanation"])),
            }
        )
    return found or None


def _operation(dialect: Dialect, attrs: Mapping[str, Any]) -> str | None:
    _, value = _pick(attrs, dialect.operation_keys)
    if value is None:
        return None
    name = str(value).lower()
    return dialect.operations.get(name, name)


def _remaining(
    attrs: Mapping[str, Any], used: set[str], dialect: Dialect, resource: Mapping[str, Any]
) -> str | None:
    """Attributes no column took, without content (stored only per policy) nor end users."""
    prefixes = tuple(k for k in dialect.content_keys if k.endswith("."))
    exact = {k for k in dialect.content_keys if not k.endswith(".")}
    rest: dict[str, Any] = {}
    for k, v in attrs.items():
        if k in used or k in exact or (prefixes and k.startswith(prefixes)):
            continue
        rest[k] = v
    for k, v in resource.items():
        rest[f"resource.{k}"] = v
    if not rest:
        return None
    return json.dumps(rest, ensure_ascii=False, separators=(",", ":"), default=str)


def normalise(span: RawSpan, options: Options) -> dict[str, Any]:
    """The row of ``span`` (keys :data:`~aims.core.genai.span.SPAN_FIELDS`).

    Raises :class:`SpanRejected` for a span no row can hold (bad ids, an end
    before the start).
    """
    _check_ids(span)
    attrs = span.attributes
    dialect = dialect_of(attrs, frozenset(name for name, _ in span.events))
    row: dict[str, Any] = dict.fromkeys(SPAN_FIELDS)
    used: set[str] = set()
    # One pass over the span's attributes: for each column, the first-ranked
    # of its names that is present and not empty.
    ranks: dict[str, int] = {}
    index = dialect.index
    for key, value in attrs.items():
        found = index.get(key)
        if found is None or value is None or value == "":
            continue
        for column, rank in found:
            if rank < ranks.get(column, rank + 1):
                ranks[column] = rank
                row[column] = value
        used.add(key)
    # End-user ids are keyed-hashed whatever the policy, and every spelling of
    # them is kept out of the remaining attributes.
    used.update(dialect.fields.get("end_user", ()))
    for column in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
                   "reasoning_tokens"):  # fmt: skip
        row[column] = _count(row[column])
    if row["output_tokens"] is None and dialect.total_tokens_key in attrs:
        total = _count(attrs[dialect.total_tokens_key])
        if total is not None and row["input_tokens"] is not None:
            row["output_tokens"] = max(0, total - row["input_tokens"])
    used.add(dialect.total_tokens_key)
    for column in ("provider", "request_model", "response_model", "agent_name", "agent_version",
                   "agent_id", "tool_name", "tool_call_id", "mcp_method", "conversation_id",
                   "error_type", "guardrail_name", "guardrail_verdict"):  # fmt: skip
        row[column] = _text(row[column])
    if row["provider"] is not None:
        row["provider"] = row["provider"].lower()
    if row["guardrail_verdict"] is not None:
        row["guardrail_verdict"] = row["guardrail_verdict"].lower()
    row["feedback_score"] = _number(row["feedback_score"])
    user = _text(row["end_user"])
    row["end_user"] = keyed_hash(user, options.key) if user else None

    inputs = read_messages(attrs, span.events, dialect.inputs)
    outputs = read_messages(attrs, span.events, dialect.outputs)
    system = system_text(attrs, dialect.system_key)
    if system is None:
        system = _joined([m for m in inputs if m.role in _ROLES_OF_SYSTEM], skip_system=False)
    else:
        inputs = [m for m in inputs if m.role not in _ROLES_OF_SYSTEM]
    if system is not None:
        inputs = [m for m in inputs if m.role not in _ROLES_OF_SYSTEM]
    reasons = row["finish_reasons"]
    if isinstance(reasons, str):
        reasons = [reasons]
    if not reasons:
        reasons = [m.finish_reason for m in outputs if m.finish_reason] or None
    row["finish_reasons"] = None if reasons is None else [str(r) for r in reasons]

    input_text = _joined(inputs, skip_system=True)
    output_text = _joined(outputs, skip_system=False)
    tools = _text_tools()
    row["input_stats"], row["input_ngrams"] = _stats(input_text, tools, options.key)
    row["output_stats"], row["output_ngrams"] = _stats(output_text, tools, options.key)
    row["refusal"] = bool(tools[2](output_text)) if tools and output_text is not None else None
    row["input_content"] = _content(inputs, system, options)
    row["output_content"] = _content(outputs, None, options)

    row["operation"] = _operation(dialect, attrs)
    used.update(dialect.operation_keys)
    resource = span.resource
    app_hint = row["agent_name"] or _text(resource.get(options.application_attribute))
    version_hint = row["agent_version"] or _text(resource.get(options.version_attribute))
    linked = options.link(app_hint, version_hint, prompt_sha256(system)) if options.link else None
    if linked is not None:
        row["application"], row["version"] = linked
    else:
        row["application"] = app_hint or "unknown_service"
    row["application"] = _APP_UNSAFE.sub("_", row["application"])[:128]

    row["cost_usd"] = options.prices.cost(
        row["response_model"] or row["request_model"],
        row["input_tokens"],
        row["output_tokens"],
        row["cache_read_tokens"],
        row["cache_creation_tokens"],
    )
    row["project"] = options.project
    row["trace_id"], row["span_id"] = span.trace_id, span.span_id
    row["parent_span_id"] = span.parent_span_id or None
    row["name"] = span.name
    row["start_time"] = span.start_ns // 1000
    row["end_time"] = span.end_ns // 1000
    row["latency_ms"] = (span.end_ns - span.start_ns) / 1e6
    row["status"] = _STATUS.get(span.status_code, "unset")
    if row["status"] == "error" and row["error_type"] is None:
        row["error_type"] = _exception_type(span.events) or "_OTHER"
    row["evaluations"] = _evaluations(span.events)
    row["dialect"] = dialect.name
    row["attributes"] = _remaining(attrs, used, dialect, resource)
    return row


def _exception_type(events: Sequence[Event]) -> str | None:
    for name, attrs in events:
        if name == "exception" and attrs.get("exception.type"):
            return str(attrs["exception.type"])
    return None

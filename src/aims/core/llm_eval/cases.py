"""The cases of an LLM application's evaluation, read from JSON Lines.

One JSON object per line::

    {"id": "refund-1", "input": "Can I return shoes?", "expected": "Yes, within 30 days.",
     "reference": "Shoes can be returned within 30 days.", "regex": "30 days",
     "schema": {"type": "object"}, "rubric": "Polite and correct.", "tags": ["refunds"],
     "output": "...", "usage": {"input_tokens": 12, "output_tokens": 9}, "latency_ms": 410}

``input`` is the only required field: text (the template's ``{input}``) or an
object of the template's variables. ``output`` (with ``usage``, ``latency_ms``,
``cost_usd`` and ``model``) is given when the team's own harness produced the
answers; otherwise they are generated. Every problem is reported with its line
and field, all at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aims.errors import InvalidInput

__all__ = ["CASE_FIELDS", "OUTPUT_FIELDS", "Case", "cases_digest", "parse_cases"]

OUTPUT_FIELDS = ("output", "usage", "latency_ms", "cost_usd", "model")
"""What a harness measured; left out of :func:`cases_digest`."""
CASE_FIELDS = ("id", "input", "expected", "reference", "schema", "regex", "rubric", "tags")
_MAX_ERRORS = 20


@dataclass(frozen=True)
class Case:
    """One evaluation case; ``output`` and the measurements are ``None`` until known."""

    id: str
    line: int
    input: str | dict[str, Any]
    expected: str | None = None
    reference: str | None = None
    schema: dict[str, Any] | None = None
    regex: tuple[str, ...] = ()
    rubric: str | None = None
    tags: tuple[str, ...] = ()
    output: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    model: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _text(obj: dict[str, Any], key: str, problems: list[str]) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    problems.append(f"field {key!r} must be text, got {type(value).__name__}")
    return None


def _number(obj: dict[str, Any], key: str, problems: list[str], what: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(f"field {what} must be a number >= 0, got {value!r}")
        return None
    return float(value)


def _case(obj: Any, line: int, problems: list[str]) -> Case | None:
    if not isinstance(obj, dict):
        problems.append(f"a case is a JSON object, got {type(obj).__name__}")
        return None
    unknown = sorted(set(obj) - set(CASE_FIELDS) - set(OUTPUT_FIELDS))
    if unknown:
        problems.append(
            f"unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(CASE_FIELDS + OUTPUT_FIELDS)}"
        )
    if "input" not in obj:
        problems.append("field 'input' is missing (the question, or an object of variables)")
    raw_input = obj.get("input")
    if raw_input is not None and not isinstance(raw_input, str | dict):
        problems.append(f"field 'input' must be text or an object, got {type(raw_input).__name__}")
    regex = obj.get("regex", [])
    regex = [regex] if isinstance(regex, str) else regex
    if not isinstance(regex, list) or not all(isinstance(r, str) for r in regex):
        problems.append("field 'regex' must be a pattern or a list of patterns")
        regex = []
    for pattern in regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(f"field 'regex': {pattern!r} is not a regular expression ({exc})")
    schema = obj.get("schema")
    if schema is not None and not isinstance(schema, dict):
        problems.append("field 'schema' must be a JSON Schema object")
        schema = None
    tags = obj.get("tags", [])
    tags = [tags] if isinstance(tags, str) else tags
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append("field 'tags' must be a list of text")
        tags = []
    usage = obj.get("usage") or {}
    if not isinstance(usage, dict):
        problems.append("field 'usage' must be an object with input_tokens and output_tokens")
        usage = {}
    tokens = [
        _number(usage, k, problems, f"'usage.{k}'") for k in ("input_tokens", "output_tokens")
    ]
    case_id = obj.get("id", f"line {line}")
    if not isinstance(case_id, str | int) or isinstance(case_id, bool):
        problems.append("field 'id' must be text or an integer")
        case_id = f"line {line}"
    texts = {
        k: _text(obj, k, problems) for k in ("expected", "reference", "rubric", "output", "model")
    }
    latency = _number(obj, "latency_ms", problems, "'latency_ms'")
    cost = _number(obj, "cost_usd", problems, "'cost_usd'")
    if problems:
        return None
    return Case(
        id=str(case_id),
        line=line,
        input=raw_input if isinstance(raw_input, str | dict) else "",
        expected=texts["expected"],
        reference=texts["reference"],
        schema=schema,
        regex=tuple(regex),
        rubric=texts["rubric"],
        tags=tuple(tags),
        output=texts["output"],
        input_tokens=None if tokens[0] is None else int(tokens[0]),
        output_tokens=None if tokens[1] is None else int(tokens[1]),
        latency_ms=latency,
        cost_usd=cost,
        model=texts["model"],
        raw=obj,
    )


def parse_cases(text: str, source: str = "cases") -> list[Case]:
    """The cases in JSON Lines ``text``; blank lines are skipped.

    Raises
    ------
    InvalidInput
        A line is not JSON or not a valid case (every such line is listed, up to
        twenty), ids repeat, or there is no case at all.

    Examples
    --------
    >>> [c.id for c in parse_cases('{"input": "hi", "expected": "hello"}\\n\\n{"id": "b", "input": "x"}')]
    ['line 1', 'b']
    """
    cases: list[Case] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{source} line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        problems: list[str] = []
        case = _case(obj, number, problems)
        errors += [f"{source} line {number}: {p}" for p in problems]
        if case is None:
            continue
        if case.id in seen:
            errors.append(
                f"{source} line {number}: id {case.id!r} repeats line {seen[case.id]}; "
                "give every case its own id"
            )
        seen[case.id] = number
        cases.append(case)
    if errors:
        shown = errors[:_MAX_ERRORS]
        more = f"; and {len(errors) - _MAX_ERRORS} more" if len(errors) > _MAX_ERRORS else ""
        raise InvalidInput("; ".join(shown) + more)
    if not cases:
        raise InvalidInput(
            f"{source} holds no case; write one JSON object per line, e.g. "
            '{"input": "What is 2+2?", "expected": "4"}'
        )
    return cases


def cases_digest(cases: list[Case]) -> str:
    """SHA-256 of the cases without their outputs: two evaluations with the same digest
    asked the same questions with the same expectations, whatever answered them."""
    h = hashlib.sha256()
    for case in cases:
        kept = {k: v for k, v in case.raw.items() if k not in OUTPUT_FIELDS}
        h.update(json.dumps(kept, sort_keys=True, separators=(",", ":")).encode())
        h.update(b"\n")
    return h.hexdigest()

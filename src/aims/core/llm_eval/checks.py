"""Checks of one answer's form: JSON that satisfies a schema, and regular expressions.

The JSON check uses the ``jsonschema`` package (the ``llm`` extra) only when a
case gives a schema; :func:`check_schema` validates the schema itself first, so
a broken schema is the case's error rather than every answer's failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from aims.errors import ConfigError, InvalidInput

__all__ = ["check_schema", "json_valid", "regex_pass"]


def _jsonschema() -> Any:
    try:
        import jsonschema
    except ImportError:
        raise ConfigError(
            "cases with a 'schema' need the jsonschema package: pip install 'aims[llm]'"
        ) from None
    return jsonschema


def check_schema(schema: dict[str, Any], where: str) -> None:
    """Raise ``InvalidInput`` naming ``where`` unless ``schema`` is a valid JSON Schema."""
    js = _jsonschema()
    try:
        js.validators.validator_for(schema).check_schema(schema)
    except js.exceptions.SchemaError as exc:
        raise InvalidInput(
            f"{where}: field 'schema' is not a valid JSON Schema: {exc.message}"
        ) from None


def json_valid(output: str, schema: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether ``output`` is JSON satisfying ``schema`` (any JSON when ``None``), and why not.

    A Markdown code fence around the JSON is accepted: chat models add one
    even when asked not to, and the content is what the application parses.

    Examples
    --------
    >>> json_valid('{"a": 1}', None)
    (True, '')
    >>> json_valid("sure! {", None)[0]
    False
    """
    text = output.strip()
    fence = re.fullmatch(r"```(?:json)?\s*\n?(.*?)\n?```", text, flags=re.DOTALL)
    if fence:
        text = fence.group(1)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return False, f"not JSON ({exc.msg})"
    if schema is None:
        return True, ""
    js = _jsonschema()
    error = js.exceptions.best_match(js.validators.validator_for(schema)(schema).iter_errors(value))
    if error is None:
        return True, ""
    path = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return False, f"schema: {path}: {error.message}"


def regex_pass(output: str, patterns: Sequence[str]) -> tuple[bool, str]:
    """Whether every pattern is found in ``output`` (``re.search``), and which is not.

    Examples
    --------
    >>> regex_pass("Order 1234 ships Monday", [r"\\d{4}", "Monday"])
    (True, '')
    >>> regex_pass("no digits", [r"\\d+"])
    (False, 'no match for \\\\d+')
    """
    for pattern in patterns:
        if re.search(pattern, output) is None:
            return False, f"no match for {pattern}"
    return True, ""

"""Reading and checking a predict request before it reaches a model.

Each problem becomes an :class:`~aims.server.problems.ApiError` whose details
name the field and the rule:

=========  ====================  ===================================================
status     rule                  when
=========  ====================  ===================================================
413        ``max_body_bytes``    the body is larger than ``server.max_body_bytes``
400        ``json``              the body is not JSON (or not UTF-8)
422        ``shape``             not an object with ``records`` or ``columns``, an
                                 unknown key, columns of unequal length, no rows
413        ``max_records``       more rows than ``server.max_records``
422        contract rules        ``missing``, ``required``, ``type``, ``finite``,
                                 ``range``, ``length``, ``pattern``, ``allowed_values``
                                 (see :mod:`aims.core.contract.records`)
=========  ====================  ===================================================

``NaN``, ``Infinity`` and ``-Infinity`` are accepted as JSON numbers, so that
the contract, not the parser, decides whether they are allowed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from aims.server.problems import ApiError, error_response

BODY_KEYS = ("records", "columns", "routing_key")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class PredictInput:
    """A parsed predict body."""

    records: list[dict[str, Any]]
    routing_key: str | None


def _shape(message: str, field: str | None = None) -> ApiError:
    return ApiError(
        422,
        "invalid_input",
        message,
        [{"row": None, "field": field, "rule": "shape", "message": message}],
    )


def parse_predict_body(body: bytes, *, max_records: int) -> PredictInput:
    """The records and routing key of a predict body; ``ApiError`` naming the problem otherwise.

    Examples
    --------
    >>> parse_predict_body(b'{"columns": {"a": [1, 2]}}', max_records=10).records
    [{'a': 1}, {'a': 2}]
    >>> parse_predict_body(b'{"records": [{"a": NaN}]}', max_records=10).records
    [{'a': nan}]
    """
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = (
            f" at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        message = f"the body is not valid JSON{where}: {getattr(exc, 'msg', exc)}"
        raise ApiError(
            400,
            "malformed_json",
            message,
            [{"row": None, "field": None, "rule": "json", "message": message}],
        ) from None
    if not isinstance(data, dict):
        raise _shape(
            f"the body must be a JSON object with 'records' or 'columns', not a "
            f"{type(data).__name__}"
        )
    unknown = [k for k in data if k not in BODY_KEYS]
    if unknown:
        raise _shape(
            f"unknown key(s) {', '.join(map(repr, unknown))}; the body takes "
            f"{', '.join(BODY_KEYS)}",
            unknown[0],
        )
    key = data.get("routing_key")
    if key is not None and not isinstance(key, str):
        raise _shape("'routing_key' must be a string", "routing_key")
    has_records, has_columns = data.get("records") is not None, data.get("columns") is not None
    if has_records == has_columns:
        raise _shape("give exactly one of 'records' (a list of objects) and 'columns'")
    if has_records:
        records = data["records"]
        if not isinstance(records, list):
            raise _shape("'records' must be a list of objects", "records")
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise ApiError(
                    422,
                    "invalid_input",
                    f"record {i} is a {type(rec).__name__}; send each record as an object",
                    [{"row": i, "field": None, "rule": "shape", "message": "not an object"}],
                )
    else:
        records = _columns_to_records(data["columns"])
    if not records:
        raise _shape("the request holds no rows", "records" if has_records else "columns")
    if len(records) > max_records:
        message = f"{len(records)} rows are more than the limit of {max_records} per request"
        raise ApiError(
            413,
            "payload_too_large",
            message,
            [{"row": None, "field": None, "rule": "max_records", "message": message}],
        )
    return PredictInput(records, key)


def _columns_to_records(columns: Any) -> list[dict[str, Any]]:
    if not isinstance(columns, dict) or not columns:
        raise _shape("'columns' must be an object of equal-length lists", "columns")
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            raise _shape(f"column {name!r} must be a list", name)
        lengths.add(len(values))
    if len(lengths) > 1:
        raise _shape(
            f"the columns have different lengths ({', '.join(map(str, sorted(lengths)))})",
            "columns",
        )
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def contract_errors(validator: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every field of every record that breaks the version's input contract."""
    if validator is None:
        return []
    return [e.to_dict() for e in validator(records)]


class BodyTooLarge(Exception):
    """The request body exceeds its limit (raised while it streams)."""


def declared_length(scope: Scope) -> int | None:
    """The ``Content-Length`` of a request, when it sends a valid one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes | None:
    """The whole body, or ``BodyTooLarge`` as soon as it passes ``limit`` bytes.

    Returns None when the client disconnects first.
    """
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def too_large(limit: int) -> ApiError:
    message = f"the body is larger than the limit of {limit} bytes"
    return ApiError(
        413,
        "payload_too_large",
        message,
        [{"row": None, "field": None, "rule": "max_body_bytes", "message": message}],
        headers={"Connection": "close"},
    )


async def no_body() -> Message:
    return {"type": "http.disconnect"}


class BodyLimit:
    """ASGI middleware: refuse request bodies larger than the limit of their path with 413.

    The body is read here (at most ``limit`` bytes are held) and handed on
    unchanged, so every route sees a body that is known to fit.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit_of: Callable[[str], int],
        on_reject: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.limit_of = limit_of
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.limit_of(path)
        try:
            body = await read_body(receive, limit, declared_length(scope))
        except BodyTooLarge:
            if self.on_reject is not None:
                self.on_reject(path)
            e = too_large(limit)
            response = error_response(e.status, e.code, e.message, e.details, headers=e.headers)
            await response(scope, no_body, send)
            return
        if body is None:
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

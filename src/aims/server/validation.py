"""Reading and checking a predict request before it reaches a model.

Each problem raises an :class:`~aims.errors.AimsError` whose details name the
field and the rule:

=========  ====================  ===================================================
status     rule                  when
=========  ====================  ===================================================
413        ``max_body_bytes``    the body is larger than ``server.max_body_bytes``
400        ``json``              the body is not JSON (or not UTF-8, nested deeper
                                 than the parser goes, or holds an integer of more
                                 than 4300 digits)
422        ``encoding``          a text (a value or a key, anywhere in the body)
                                 holds a lone UTF-16 surrogate such as ``"\\udc00"``:
                                 valid JSON, but not text that can be stored
422        ``shape``             not an object with ``records`` or ``columns``, an
                                 unknown key, columns of unequal length, no rows
413        ``max_records``       more rows than ``server.max_records``
422        contract rules        ``missing``, ``required``, ``type``, ``finite``,
                                 ``range``, ``length``, ``pattern``, ``allowed_values``
                                 (see :mod:`aims.core.contract.records`)
=========  ====================  ===================================================

``NaN``, ``Infinity`` and ``-Infinity`` are accepted as JSON numbers, so that
the contract, not the parser, decides whether they are allowed.

Every refusal happens before the model runs and before anything is queued
for the prediction log; the log writer checks what it is given once more
(see :func:`aims.storage.predlog.batch.check_inputs`), so a prediction is
only acknowledged once it is queued in a form the log can store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from aims.errors import AimsError, InvalidInput, MalformedBody, PayloadTooLarge
from aims.server.problems import problem_response

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


def _shape(message: str, field: str | None = None) -> InvalidInput:
    return InvalidInput(
        message, details=[{"row": None, "field": field, "rule": "shape", "message": message}]
    )


def _malformed(message: str) -> MalformedBody:
    return MalformedBody(
        message, details=[{"row": None, "field": None, "rule": "json", "message": message}]
    )


# A lone surrogate can only come from a \uD800-\uDFFF escape (raw UTF-8 cannot
# encode one), so a body without such an escape needs no walk at all.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


# orjson reads an integer past 64 bits as a float; the standard parser keeps it exact.
# A run of 19 digits is found by turning every digit into 0 and looking for 19 zeros:
# a tenth of the time of the regular expression [0-9]{19}, which restarts at every digit.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def decode_json(body: bytes) -> Any:
    """``body`` parsed as JSON, or :class:`~aims.errors.MalformedBody` saying why not.

    Besides syntax and UTF-8, refuses what the standard parser raises other
    errors for: nesting deeper than the interpreter's recursion limit, and
    integers longer than Python's 4300-digit conversion limit.

    orjson parses a body about six times faster; what it does not take (the
    ``NaN`` and ``Infinity`` literals, lone surrogates, errors) and bodies
    with a number of 19 digits or more go to the standard parser, so the
    result and the error messages are the standard parser's.

    Examples
    --------
    >>> decode_json(b'{"a": [1, 2.5, NaN]}')
    {'a': [1, 2.5, nan]}
    >>> decode_json(b"[18446744073709551616, 0.1000000000000000055511151231257827]")
    [18446744073709551616, 0.1]
    >>> decode_json(b"[" * 100_000)
    Traceback (most recent call last):
    ...
    aims.errors.MalformedBody: the body is not valid JSON: it is nested too deeply
    """
    if body.translate(_DIGITS_AS_ZERO).find(_LONG_RUN) < 0:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, a lone surrogate, or an error: the standard parser decides
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise _malformed(
            f"the body is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise _malformed("the body is not valid JSON: it is not UTF-8 text") from None
    except RecursionError:
        raise _malformed("the body is not valid JSON: it is nested too deeply") from None
    except ValueError:
        # int() past sys.get_int_max_str_digits (4300 by default).
        raise _malformed(
            "the body is not valid JSON: it holds an integer with too many digits; "
            "send numbers that fit in 64 bits"
        ) from None


def unencodable_path(value: Any) -> list[str | int] | None:
    """The path to the first text (a value or a key) that is not valid Unicode, else None.

    Valid JSON can carry a lone UTF-16 surrogate (``"\\udc00"``), which no
    UTF-8 store, hash or response can take.

    Examples
    --------
    >>> unencodable_path({"records": [{"a": 1, "b": "ok"}, {"b": chr(0xDC00)}]})
    ['records', 1, 'b']
    >>> unencodable_path({"fine": ["text", 1]}) is None
    True
    """
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return path
        elif isinstance(item, dict):
            for k, v in item.items():
                if not _encodable(k):
                    return [*path, _printable(k)]
                stack.append((v, [*path, k]))
        elif isinstance(item, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(item))
    return None


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    """``text`` with characters that cannot be encoded written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_encodable(data: Any, body: bytes) -> None:
    """Refuse (422, rule ``encoding``) a parsed body holding text that cannot be stored."""
    if _SURROGATE_ESCAPE.search(body) is None:
        return
    path = unencodable_path(data)
    if path is None:
        return
    row: int | None = None
    field = ".".join(_printable(str(p)) for p in path)
    if len(path) >= 3 and path[0] in ("records", "columns"):
        # records[i].name or columns.name[i]: name the feature and the row.
        i, name = (path[1], path[2]) if path[0] == "records" else (path[2], path[1])
        row, field = (i if isinstance(i, int) else None), _printable(str(name))
    message = (
        f"{field or 'the body'} holds text that is not valid Unicode (a lone UTF-16 "
        "surrogate escape such as \\udc00), which cannot be stored; send valid text"
    )
    raise InvalidInput(
        message, details=[{"row": row, "field": field, "rule": "encoding", "message": message}]
    )


def parse_predict_body(body: bytes, *, max_records: int) -> PredictInput:
    """The records and routing key of a predict body; an ``AimsError`` naming the problem otherwise.

    Examples
    --------
    >>> parse_predict_body(b'{"columns": {"a": [1, 2]}}', max_records=10).records
    [{'a': 1}, {'a': 2}]
    >>> parse_predict_body(b'{"records": [{"a": NaN}]}', max_records=10).records
    [{'a': nan}]
    """
    data = decode_json(body)
    check_encodable(data, body)
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
                raise InvalidInput(
                    f"record {i} is a {type(rec).__name__}; send each record as an object",
                    details=[
                        {"row": i, "field": None, "rule": "shape", "message": "not an object"}
                    ],
                )
    else:
        records = _columns_to_records(data["columns"])
    if not records:
        raise _shape("the request holds no rows", "records" if has_records else "columns")
    if len(records) > max_records:
        message = f"{len(records)} rows are more than the limit of {max_records} per request"
        raise PayloadTooLarge(
            message,
            details=[{"row": None, "field": None, "rule": "max_records", "message": message}],
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


def contract_findings(
    validator: Any, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The refusing failures (severity ``error``) and the warnings (``warn``) of ``records``."""
    if validator is None:
        return [], []
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for e in validator.check(records):
        (errors if e.severity == "error" else warnings).append(e.to_dict())
    return errors, warnings


PER_ROW = "per_row"
"""The ``errors`` query value asking for per-row results instead of all-or-nothing."""


def per_row_asked(query: str | bytes) -> bool:
    """Whether a predict request's query string asks for per-row results.

    ``errors=all`` (the default) refuses the whole request when one row breaks
    the contract; ``errors=per_row`` predicts the valid rows and reports the others.

    Examples
    --------
    >>> per_row_asked(b"errors=per_row"), per_row_asked(""), per_row_asked("errors=all")
    (True, False, False)
    >>> per_row_asked("errors=some")
    Traceback (most recent call last):
    ...
    aims.errors.InvalidInput: the query parameter errors is all or per_row, not 'some'
    """
    from urllib.parse import parse_qs

    text = query.decode("latin-1") if isinstance(query, bytes) else query
    values = parse_qs(text).get("errors", [])
    for value in values:
        if value not in ("all", PER_ROW):
            message = f"the query parameter errors is all or per_row, not {value!r}"
            raise InvalidInput(
                message,
                details=[{"row": None, "field": "errors", "rule": "shape", "message": message}],
            )
    return PER_ROW in values


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


def too_large(limit: int, setting: str | None = None) -> AimsError:
    """The refusal of a body over ``limit`` bytes (the connection is closed after it);
    ``setting`` names the ``aims.yaml`` key that sets the limit, if one does."""
    message = f"the body is larger than the limit of {limit} bytes"
    if setting:
        message += f" ({setting} in aims.yaml)"
    return PayloadTooLarge(
        message,
        details=[{"row": None, "field": None, "rule": "max_body_bytes", "message": message}],
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
            response = problem_response(too_large(limit), instance=path)
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


def hide_personal(errors: list[dict[str, Any]], pii: Any) -> list[dict[str, Any]]:
    """Contract errors with the values of personal-data fields taken out of them.

    Examples
    --------
    >>> hide_personal([{"row": 0, "field": "email", "rule": "pattern",
    ...                 "message": "email: 'a@b' does not match ...", "value": "a@b"}],
    ...               {"email": "hash"})
    [{'row': 0, 'field': 'email', 'rule': 'pattern', 'message': 'email: breaks the pattern rule (personal data: the value is not shown)'}]
    """
    if not pii:
        return errors
    out = []
    for e in errors:
        if e.get("field") in pii:
            e = {k: v for k, v in e.items() if k != "value"}
            e["message"] = (
                f"{e['field']}: breaks the {e['rule']} rule (personal data: the value is not shown)"
            )
        out.append(e)
    return out

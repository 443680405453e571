"""Error answers of the server: RFC 9457 problem details for every refusal.

Every 4xx and 5xx answer of the HTTP API has ``Content-Type:
application/problem+json`` and the body::

    {"type": "urn:aims:problem:contract_violation",
     "title": "Input breaks the data contract",
     "status": 422,
     "detail": "2 field(s) break the input contract of churn@3",
     "instance": "/v1/models/churn/predict",
     "code": "contract_violation",
     "request_id": "9f0c...",
     "errors": [{"row": 0, "field": "age", "rule": "range", "message": "..."}]}

``type``, ``title`` and ``status`` come from the :class:`~aims.errors.AimsError`
class raised (the one mapping of errors to answers lives in
:mod:`aims.errors`); ``code`` repeats the end of ``type`` for clients that
switch on a word; ``errors`` names the field and the rule where there is one
(``errors_total`` gives the full count past :data:`MAX_DETAILS`). Values of
personal-data columns are never part of a problem.

:class:`ApiError` is the spelling for code that holds a status and a code
rather than a class; it is part of the same tree.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from aims.errors import AimsError, class_of_code, error_classes, problem_type

log = logging.getLogger("aims.server")

PROBLEM_JSON = "application/problem+json"
MAX_DETAILS = 100
"""At most this many field errors are listed; ``errors_total`` gives the full count."""
MAX_DETAIL_CHARS = 2_000
"""Longer messages are cut: a problem never grows with a hostile input."""


class ApiError(AimsError):
    """An error given by its HTTP ``status`` and ``code`` instead of its class.

    The pair must be one the tree defines (``ApiError(404, "not_found", ...)``
    answers exactly as ``NotFound(...)`` does), so there is still one mapping
    from errors to answers. Prefer raising the class itself.
    """

    reason: str | None = None
    """Why access was refused, for the refusal counter and the audit (the code when unset)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        cls = class_of_code(code)
        if cls.status != status or cls.__dict__.get("code") != code:
            raise ValueError(f"no error of the tree has status {status} and code {code!r}")
        super().__init__(message, details=details, headers=headers)
        # This instance answers as the tree's class for (status, code): its class
        # attributes, set per instance. mypy refuses writes to a ClassVar through self.
        self.code = code  # type: ignore[misc]
        self.status = status  # type: ignore[misc]
        self.title = cls.title  # type: ignore[misc]


def _class_of_status(status: int) -> type[AimsError]:
    """The tree's first class answered with ``status`` (for the framework's own errors)."""
    for cls in error_classes():
        if cls.__dict__.get("status", None) == status and cls is not ApiError:
            return cls
    return AimsError


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    request_id: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> bytes:
    """The JSON body of one problem.

    Encoded with ``ensure_ascii`` so that any text (a lone surrogate from a
    hostile body included) becomes valid JSON instead of an encoding error.

    Examples
    --------
    >>> json.loads(problem(404, "not_found", "Not found", "no model 'x'"))["type"]
    'urn:aims:problem:not_found'
    """
    errors = errors or []
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": _cut(detail),
        "instance": instance,
        "code": code,
        "request_id": request_id,
        "errors": [{**e, "message": _cut(str(e.get("message", "")))} for e in errors[:MAX_DETAILS]],
    }
    if len(errors) > MAX_DETAILS:
        body["errors_total"] = len(errors)
    return json.dumps(body, default=str, ensure_ascii=True).encode()


def problem_of(exc: AimsError, *, instance: str | None, request_id: str | None) -> bytes:
    """The problem body of ``exc``."""
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.message,
        instance=instance,
        request_id=request_id,
        errors=exc.details,
    )


def problem_response(
    exc: AimsError, *, instance: str | None = None, request_id: str | None = None
) -> Response:
    """``exc`` as a response: its status, its headers, a problem body."""
    headers = dict(exc.headers)
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return Response(
        problem_of(exc, instance=instance, request_id=request_id),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    instance: str | None = None,
) -> Response:
    """A problem response for a status and code of the tree (for ASGI middleware).

    The pair must be one the tree defines, as for :class:`ApiError`.
    """
    error = ApiError(status, code, message, details, headers)
    return problem_response(error, instance=instance, request_id=request_id)


def unexpected(exc: BaseException) -> AimsError:
    """The answer to an error nobody raised on purpose: a 500 that names only its type."""
    return AimsError(f"internal error ({type(exc).__name__}); see the server log")


def request_id_of(request: Request) -> str:
    """The request's id (set by the predict route), else a new one for this answer."""
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = uuid.uuid4().hex
    return rid


def validation_error(exc: RequestValidationError) -> AimsError:
    """A body or parameter the route's schema refuses, as a problem naming each field.

    Input values are left out: they may be personal data, or text that
    cannot be encoded.
    """
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        kind = str(err.get("type"))
        details.append(
            {
                "row": None,
                "field": ".".join(loc) or None,
                "rule": "json" if kind == "json_invalid" else kind,
                "message": str(err.get("msg")),
            }
        )
    if any(d["rule"] == "json" for d in details):
        from aims.errors import MalformedBody

        return MalformedBody("the body is not valid JSON", details=details)
    from aims.errors import InvalidInput

    return InvalidInput("the request does not match the schema", details=details)


def install_handlers(app: FastAPI) -> None:
    """Answer every error the app can raise with a problem (see the module docstring)."""

    @app.exception_handler(AimsError)
    async def _aims_error(request: Request, exc: AimsError) -> Response:
        if exc.status >= 500:
            log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc)
        return problem_response(exc, instance=request.url.path, request_id=request_id_of(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(
            validation_error(exc), instance=request.url.path, request_id=request_id_of(request)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # The framework's own refusals (unknown route, wrong method, unreadable
        # body) answer with the status it chose and the tree's type for it.
        cls = _class_of_status(exc.status_code)
        headers = dict(exc.headers or {})
        rid = request_id_of(request)
        if cls.status == exc.status_code:
            error = cls(str(exc.detail), headers=headers)
            return problem_response(error, instance=request.url.path, request_id=rid)
        body = problem(
            exc.status_code,
            "error",
            "Error",
            str(exc.detail),
            instance=request.url.path,
            request_id=rid,
        )
        return Response(body, exc.status_code, headers=headers, media_type=PROBLEM_JSON)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            unexpected(exc), instance=request.url.path, request_id=request_id_of(request)
        )


__all__ = [
    "MAX_DETAILS",
    "PROBLEM_JSON",
    "ApiError",
    "error_response",
    "install_handlers",
    "problem",
    "problem_of",
    "problem_response",
    "request_id_of",
    "unexpected",
    "validation_error",
]

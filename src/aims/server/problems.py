"""Error responses of the server: one JSON shape for every refusal.

Every 4xx and 5xx answer has the body::

    {"error": {"code": "contract_violation", "message": "...", "request_id": "...",
               "details": [{"row": 0, "field": "age", "rule": "range", "message": "..."}]}}

``code`` is stable (the :mod:`aims.errors` codes plus the server's own:
``unauthenticated``, ``rate_limited``, ``payload_too_large``,
``malformed_json``, ``model_error``); ``details`` names the field and the
rule where there is one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from aims.errors import AimsError

log = logging.getLogger("aims.server")

MAX_DETAILS = 100
"""At most this many field errors are listed; ``details_total`` gives the full count."""

STATUS_OF_CODE = {
    "not_found": 404,
    "invalid_input": 422,
    "contract_violation": 422,
    "config_error": 500,
    "conflict": 409,
    "gate_failed": 409,
    "permission_denied": 403,
    "integrity_error": 500,
    "store_unavailable": 503,
    "error": 500,
}

CODE_OF_STATUS = {
    400: "malformed_json",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_input",
    429: "rate_limited",
    500: "error",
    503: "unavailable",
}


class ApiError(Exception):
    """A refusal with an HTTP status, a stable code, a message and field-level details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def error_body(
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    request_id: str | None = None,
) -> bytes:
    details = details or []
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "request_id": request_id,
        "details": details[:MAX_DETAILS],
    }
    if len(details) > MAX_DETAILS:
        error["details_total"] = len(details)
    return json.dumps({"error": error}, default=str).encode()


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        error_body(code, message, details, request_id),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def install_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to the JSON shape above."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(
            exc.status, exc.code, exc.message, exc.details, _request_id(request), exc.headers
        )

    @app.exception_handler(AimsError)
    async def _aims_error(request: Request, exc: AimsError) -> Response:
        status = STATUS_OF_CODE.get(exc.code, 500)
        details = list(getattr(exc, "failures", []) or [])
        return error_response(status, exc.code, exc.message, details, _request_id(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            details.append(
                {
                    "row": None,
                    "field": ".".join(loc) or None,
                    "rule": "json" if err.get("type") == "json_invalid" else str(err.get("type")),
                    "message": str(err.get("msg")),
                }
            )
        if any(d["rule"] == "json" for d in details):
            return error_response(
                400, "malformed_json", "the body is not valid JSON", details, _request_id(request)
            )
        return error_response(
            422, "invalid_input", "the request does not match the schema", details, None
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = CODE_OF_STATUS.get(exc.status_code, "error")
        return error_response(
            exc.status_code,
            code,
            str(exc.detail),
            request_id=_request_id(request),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            "error",
            f"internal error ({type(exc).__name__}); see the server log",
            request_id=_request_id(request),
        )

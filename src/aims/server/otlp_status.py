"""Failure answers of ``POST /v1/traces`` as OTLP/HTTP defines them.

The OTLP specification says that every 4xx and 5xx answer to an export
carries a ``google.rpc.Status`` message (a developer-facing ``message``,
optional ``details``) in the encoding of the request: binary Protobuf for
``application/x-protobuf``, the JSON mapping for ``application/json``.
Exporters log that message, so it is where the reason must be. A request
whose Content-Type is neither (the 415 case) has no encoding to answer in:
it gets the JSON form, which a person can read. A bad body (400) also
carries a ``google.rpc.BadRequest`` detail, as the specification recommends.

Clients of the rest of the API read RFC 9457 problems: one that asks for
``application/problem+json`` in ``Accept`` gets the problem instead.

``Status.code`` is not used by OTLP/HTTP clients; it is filled from the HTTP
status for whoever records it.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from aims.errors import AimsError
from aims.server.problems import PROBLEM_JSON, problem_response
from aims.services.trace_otlp import JSON, UnsupportedMediaType, media_type

__all__ = ["GRPC_CODES", "otlp_failure", "status_body"]

#: gRPC code (``google.rpc.Code``) set in the Status of each HTTP failure.
GRPC_CODES = {
    400: 3,  # INVALID_ARGUMENT
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 5,  # NOT_FOUND
    413: 8,  # RESOURCE_EXHAUSTED, without RetryInfo: not to be retried
    415: 3,  # INVALID_ARGUMENT
    422: 3,  # INVALID_ARGUMENT
    429: 8,  # RESOURCE_EXHAUSTED
    503: 14,  # UNAVAILABLE: retried by the exporter
}


def status_body(kind: str, http_status: int, message: str) -> bytes:
    """A ``google.rpc.Status`` for an HTTP failure, encoded as ``kind`` (a media type)."""
    from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
    from google.rpc import (  # type: ignore[import-untyped,unused-ignore]
        error_details_pb2,
        status_pb2,
    )

    status = status_pb2.Status(code=GRPC_CODES.get(http_status, 2), message=message)
    if http_status == 400:
        bad = error_details_pb2.BadRequest()
        violation = bad.field_violations.add()
        violation.field = "ExportTraceServiceRequest"
        violation.description = message
        status.details.add().Pack(bad)
    if kind == JSON:
        return json_format.MessageToJson(status, indent=None).encode()
    return status.SerializeToString()


def _encoding(content_type: str | None) -> str:
    try:
        return media_type(content_type)
    except UnsupportedMediaType:
        return JSON


def otlp_failure(
    exc: AimsError,
    headers: Mapping[str, str],
    *,
    instance: str | None = None,
    request_id: str | None = None,
) -> Response:
    """``exc`` answered to an OTLP exporter: a Status in the request's encoding.

    ``headers`` are the request's (``content-type``, ``accept``, lower-case
    names). A client that accepts ``application/problem+json`` gets the problem.
    """
    if PROBLEM_JSON in (headers.get("accept") or "").lower():
        return problem_response(exc, instance=instance, request_id=request_id)
    kind = _encoding(headers.get("content-type"))
    answer_headers = dict(exc.headers)
    if request_id is not None:
        answer_headers["X-Request-ID"] = request_id
    return Response(
        status_body(kind, exc.status, exc.message),
        status_code=exc.status,
        media_type=kind,
        headers=answer_headers,
    )

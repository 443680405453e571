"""``POST /v1/traces``: OTLP/HTTP trace export, as the OpenTelemetry SDK's exporter sends it.

Takes ``application/x-protobuf`` and ``application/json`` bodies, optionally
gzip-compressed, and answers an ``ExportTraceServiceResponse`` in the same
encoding; spans that cannot be stored are counted in its
``partial_success`` with the reasons. The caller's token names the project
(a token for every project adds ``?project=P``); role ``predictor`` or
higher may send spans.

Decoding and normalising a batch is CPU work: it runs in worker threads, at
most :data:`INGEST_THREADS` at a time, so the event loop keeps answering
other requests while a large export is processed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from aims.core.genai.span import span_schema
from aims.core.roles import ALL_PROJECTS
from aims.errors import AimsError, InvalidInput, MalformedBody, PayloadTooLarge
from aims.server.auth import Principal, client_of, require
from aims.server.lifespan import add_lifespan_hook
from aims.server.otlp_status import otlp_failure, status_body
from aims.server.problems import PROBLEM_JSON, problem, request_id_of
from aims.services.trace_otlp import (
    JSON,
    BodyTooLarge,
    UnsupportedMediaType,
    encode_response,
    media_type,
)
from aims.services.traces import TraceIngest, trace_log_url
from aims.storage.traces import SpanWriter

__all__ = ["INGEST_THREADS", "TRACE_BODY_BYTES", "install", "refusal", "router"]

#: Largest export body taken as sent (compressed or not); decompressed bodies get 8 times this.
TRACE_BODY_BYTES = 8 * 1024 * 1024
#: Export batches decoded at once; further ones wait their turn.
INGEST_THREADS = 2
#: Role a token needs to send spans: the one that may send predictions.
TRACE_ROLE = "predictor"

router = APIRouter(tags=["traces"])
log = logging.getLogger("aims.server")

FAILURE = (
    "{} The body is a google.rpc.Status in the request's encoding (JSON when the "
    "Content-Type is not an OTLP one); Accept: application/problem+json gets a problem."
)


_allowed = require(TRACE_ROLE)
_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token.")


async def _sender(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal | AimsError:
    """The caller, checked as :func:`~aims.server.auth.require` checks it, or its refusal.

    A refusal is returned rather than raised, so that the route answers it as
    OTLP asks (a ``google.rpc.Status``) instead of the API's problem document:
    an exporter logs the Status's message, and a token of a role that may not
    send spans must say so there.
    """
    try:
        principal: Principal = await _allowed(request, credentials)
    except AimsError as exc:
        return exc
    return principal


_sender.aims_role = TRACE_ROLE  # type: ignore[attr-defined]  # read by route_roles


def _project(request: Request, principal: Principal) -> str:
    # require() has checked a ?project= against the token already.
    named = request.query_params.get("project")
    if named:
        return named
    if principal.project == ALL_PROJECTS or principal.grants:
        raise InvalidInput(
            "this token is not bound to one project; name the project the spans belong "
            "to: POST /v1/traces?project=P"
        )
    return principal.project


def _unsupported(request: Request, message: str) -> Response:
    if PROBLEM_JSON in request.headers.get("accept", "").lower():
        body = problem(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            message,
            instance=request.url.path,
            request_id=request_id_of(request),
        )
        return Response(body, status_code=415, media_type=PROBLEM_JSON)
    # Not a request encoding OTLP knows, unless only the Content-Encoding was wrong.
    kind = request.headers.get("content-type", "")
    try:
        kind = media_type(kind)
    except UnsupportedMediaType:
        kind = JSON
    return Response(status_body(kind, 415, message), status_code=415, media_type=kind)


def refusal(exc: AimsError, headers: Mapping[str, str]) -> Response:
    """A refusal before the route (no token, a body over the limit) as an OTLP Status."""
    return otlp_failure(exc, headers, instance="/v1/traces")


def _failed(request: Request, exc: AimsError) -> Response:
    if exc.status >= 500:
        log.error("%s on POST /v1/traces: %s", exc.code, exc)
    return otlp_failure(
        exc, request.headers, instance=request.url.path, request_id=request_id_of(request)
    )


@router.post(
    "/v1/traces",
    response_class=Response,
    responses={
        200: {"description": "An OTLP ExportTraceServiceResponse, in the request's encoding."},
        400: {"description": FAILURE.format("The body is not an OTLP trace export.")},
        403: {
            "description": FAILURE.format(
                "The token's role may not send spans (predictor or above), or not to this project."
            )
        },
        413: {
            "description": FAILURE.format("The body, or its decompressed size, is over the limit.")
        },
        415: {
            "description": FAILURE.format(
                "Not application/x-protobuf or application/json, or not gzip."
            )
        },
        503: {
            "description": FAILURE.format(
                "The span store cannot keep up or cannot be written; retry."
            )
        },
    },
)
async def post_traces(
    request: Request, sender: Principal | AimsError = Depends(_sender)
) -> Response:
    """Take one OTLP/HTTP trace export."""
    if isinstance(sender, AimsError):  # a role or project that may not send spans
        return _failed(request, sender)
    principal = sender
    try:
        return await _export(request, principal)
    except UnsupportedMediaType as exc:
        return _unsupported(request, exc.message)
    except BodyTooLarge as exc:
        return _failed(request, PayloadTooLarge(exc.message))
    except AimsError as exc:  # a bad body, no project named or refused, the store unavailable
        return _failed(request, exc)


async def _export(request: Request, principal: Principal) -> Response:
    ingest: TraceIngest = request.app.state.traces
    kind = media_type(request.headers.get("content-type"))
    project = _project(request, principal)
    state = request.app.state.aims
    state.guard.check_project(principal, project, client=client_of(request), path="/v1/traces")
    body = await request.body()
    work = functools.partial(
        ingest.export, body, kind, request.headers.get("content-encoding"), project
    )
    try:
        result = await anyio.to_thread.run_sync(work, limiter=request.app.state.trace_limiter)
    except (UnsupportedMediaType, BodyTooLarge):
        raise
    except InvalidInput as exc:  # the body does not decode: nothing was stored
        raise MalformedBody(exc.message) from None
    return Response(encode_response(kind, result.rejected, result.message), media_type=kind)


class TraceMetrics:
    """The span ingest's counters, read when ``/metrics`` is scraped."""

    def __init__(self, ingest: TraceIngest) -> None:
        self.ingest = ingest

    def collect(self) -> Iterator[Metric]:
        stats = self.ingest.writer.stats
        for name, doc, value in (
            ("aims_trace_spans_accepted", "Spans taken in by POST /v1/traces.",
             self.ingest.accepted_total),
            ("aims_trace_spans_rejected", "Spans POST /v1/traces refused (partial success).",
             self.ingest.rejected_total),
            ("aims_trace_spans_duplicate",
             "Spans POST /v1/traces dropped as copies of spans taken in lately (retries).",
             self.ingest.duplicate_total),
            ("aims_trace_store_spans", "Spans written to the span store.", stats.rows_written),
            ("aims_trace_store_errors", "Span store flushes that failed.", stats.flush_errors),
        ):  # fmt: skip
            family = CounterMetricFamily(name, doc)
            family.add_metric([], float(value))
            yield family
        queued = GaugeMetricFamily(
            "aims_trace_store_queued_spans", "Spans waiting to be written to the span store."
        )
        queued.add_metric([], float(stats.queued_rows))
        yield queued


def install(app: FastAPI) -> None:
    """Add ``/v1/traces`` to ``app`` and a span writer that lives as long as the server."""
    app.include_router(router)

    @asynccontextmanager
    async def span_store(app: Any) -> AsyncIterator[None]:
        state = app.state.aims
        # A little under the promised window, leaving the rest for the write itself.
        writer = SpanWriter(
            trace_log_url(state.ws),
            flush_interval=0.8 * state.config.flush_interval,
            schema=span_schema(),
        )
        ingest = await run_in_threadpool(TraceIngest, state.ws, writer)
        app.state.traces = ingest
        app.state.trace_limiter = anyio.CapacityLimiter(INGEST_THREADS)
        collector = TraceMetrics(ingest)
        state.metrics.registry.register(collector)
        try:
            yield
        finally:
            state.metrics.registry.unregister(collector)
            await run_in_threadpool(writer.close)

    add_lifespan_hook(app, span_store)

"""The predict fast path: ``POST /v1/models/{name}/predict`` answered as plain ASGI.

The predict route is the one hot path, and for a model that answers in a few
milliseconds the framework's per-request machinery (routing, dependency
resolution, request and response objects, exception middleware) is a
noticeable share of the time. This middleware recognises the predict path
first and answers it with the very same pieces the FastAPI route uses (the
body limit, :meth:`~aims.server.auth.Guard.authorize` with the route's role
and the model's project, :meth:`~aims.server.predict.Predictor.predict`, the
problem answers of :mod:`~aims.server.problems`). Every other request goes on to
the app unchanged. The FastAPI route stays: it documents the operation in the
OpenAPI document and answers when the fast path is not installed.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from aims.errors import AimsError, NotFound
from aims.server.predict import PREDICT_ROLE
from aims.server.problems import PROBLEM_JSON, problem_of, unexpected
from aims.server.validation import (
    ASGIApp,
    BodyTooLarge,
    Receive,
    Scope,
    Send,
    declared_length,
    read_body,
    too_large,
)

log = logging.getLogger("aims.server")

PREFIX = "/v1/models/"
SUFFIX = "/predict"


def model_of(path: str) -> str | None:
    """The model name of a predict path, else None.

    Examples
    --------
    >>> model_of("/v1/models/churn/predict"), model_of("/v1/models/churn")
    ('churn', None)
    """
    if path.startswith(PREFIX) and path.endswith(SUFFIX):
        name = path[len(PREFIX) : -len(SUFFIX)]
        if name and "/" not in name:
            return name
    return None


class PredictFastPath:
    """ASGI middleware answering predict requests; ``app`` is the FastAPI app it wraps."""

    def __init__(self, app: ASGIApp, fastapi_app: Any) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            name = model_of(scope["path"])
            if name is not None:
                await self._predict(name, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _predict(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.fastapi_app.state.aims
        request_id = uuid.uuid4().hex
        headers = {k: v for k, v in scope["headers"] if k in (b"authorization", b"x-routing-key")}
        client = scope["client"][0] if scope.get("client") else "unknown"
        extra: list[tuple[bytes, bytes]] = []
        if state.guard.insecure:
            extra.append((b"x-aims-auth", b"disabled"))
        try:
            limit = state.config.max_body_bytes
            try:
                body = await read_body(receive, limit, declared_length(scope))
            except BodyTooLarge:
                state.metrics.rejected.labels(name, "max_body_bytes").inc()
                raise too_large(limit) from None
            if body is None:
                return  # the client went away
            routes = state.deployments.table.get(name)
            authorization = headers.get(b"authorization")
            state.guard.authorize(
                authorization.decode("latin-1") if authorization is not None else None,
                role=PREDICT_ROLE,
                project=routes.project if routes is not None else None,
                client=client,
                path=scope["path"],
            )
            if routes is None:
                raise NotFound(f"model {name!r} is not served")
            key = headers.get(b"x-routing-key")
            result = await state.predictor.predict(
                routes,
                body,
                key.decode("latin-1") if key is not None else None,
                request_id,
                scope.get("query_string", b""),
            )
        except AimsError as exc:
            await _problem(send, exc, scope["path"], request_id, extra)
            return
        except Exception as exc:
            log.exception("unexpected error on POST %s", scope["path"])
            await _problem(send, unexpected(exc), scope["path"], request_id, extra)
            return
        await _respond(send, 200, json.dumps(result).encode(), request_id, extra)


async def _problem(
    send: Send, exc: AimsError, path: str, request_id: str, extra: list[tuple[bytes, bytes]]
) -> None:
    body = problem_of(exc, instance=path, request_id=request_id)
    headers = extra + [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()
    ]
    await _respond(send, exc.status, body, request_id, headers, PROBLEM_JSON)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    request_id: str,
    extra: list[tuple[bytes, bytes]],
    media_type: str = "application/json",
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

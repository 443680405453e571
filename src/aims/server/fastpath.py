"""The predict front door: ``POST /v1/models/{name}/predict`` answered as plain ASGI.

The predict route is the one hot path, and for a model that answers in a
millisecond the framework's per-request machinery (routing, dependency
resolution, request and response objects, and seven middleware layers, each
wrapping ``send``) is a large share of the time. :class:`PredictFront` is the
outermost app of the server: it recognises the predict path first and runs
the same checks the middleware stack would, in the same order and with the
same answers, then the request itself:

1. the client address from trusted proxies (:func:`~aims.server.proxies.client_address`);
2. the loopback-host and cross-site checks (:mod:`~aims.server.origin`), 403;
3. authentication before the body is read (as :mod:`~aims.server.admission`), 401;
4. the body limit, on the declared length and while the body streams, 413;
5. the rate limit, the role and the model's project
   (:meth:`~aims.server.auth.Guard.permit`), 429, 403 or 404;
6. :meth:`~aims.server.predict.Predictor.predict`.

Every answer carries the security headers (:mod:`~aims.server.headers`), a
request id, and ``X-Aims-Auth: disabled`` without authentication; refusals are
problem details (:mod:`~aims.server.problems`). Every other request, and any
request before the server's state is set up, goes on to the app unchanged.
The FastAPI route stays: it documents the operation in the OpenAPI document.

Other hot paths that check their own tokens (the MCP gateway) are answered
here too (``fronts``, a path's handler): steps 1 and 2, then the handler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from aims.errors import AimsError, NotFound, PermissionDenied
from aims.server.headers import security_headers
from aims.server.origin import LOOPBACK_HOSTS, TRUSTED_PROXY, cross_site_reason, host_port
from aims.server.predict import PREDICT_ROLE
from aims.server.problems import PROBLEM_JSON, problem_of, unexpected
from aims.server.proxies import client_address, is_trusted
from aims.server.validation import (
    ASGIApp,
    BodyTooLarge,
    Receive,
    Scope,
    Send,
    read_body,
    too_large,
)
from aims.storage.predlog.ids import random_hex

log = logging.getLogger("aims.server")

PREFIX = "/v1/models/"
SUFFIX = "/predict"
_JSON = [(b"content-type", b"application/json")]
_PROBLEM = [(b"content-type", PROBLEM_JSON.encode())]
_INSECURE = [(b"x-aims-auth", b"disabled")]
_CLOSE = "Connection"
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


Front = Callable[[Scope, Receive, Send, str, str, list[tuple[bytes, bytes]]], Awaitable[None]]
"""A handler answering a path in front of the stack: ``(scope, receive, send, client,
request_id, headers)``, where ``headers`` are the security headers every answer carries.
An ``AimsError`` it raises before answering is answered as a problem."""


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


class PredictFront:
    """ASGI app answering predict requests itself; ``app`` (the whole stack) gets the rest.

    Parameters
    ----------
    app
        The server's middleware stack and routes, for every other request.
    fastapi_app
        The FastAPI app, whose ``state.aims`` the predict requests use.
    networks
        The trusted proxies (``server.trusted_proxies``).
    """

    def __init__(
        self,
        app: ASGIApp,
        fastapi_app: Any,
        networks: Iterable[Any] = (),
        fronts: Mapping[str, Front] | None = None,
    ) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.networks = list(networks)
        self._headers = security_headers(PREFIX + "x" + SUFFIX)
        # The mapping itself, not a copy: a path mounted after the stack is built is served too.
        self.fronts: Mapping[str, Front] = fronts if fronts is not None else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST":
                name = model_of(scope["path"])
                state = getattr(self.fastapi_app.state, "aims", None)
                if name is not None and state is not None:
                    await self._predict(state, name, scope, receive, send)
                    return
            front = self.fronts.get(scope["path"])
            if front is not None:
                await self._front(front, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _front(self, front: Front, scope: Scope, receive: Receive, send: Send) -> None:
        """Steps 1 and 2 for a path in :attr:`fronts`, then its handler."""
        request_id = random_hex(16)
        state = getattr(self.fastapi_app.state, "aims", None)
        extra = security_headers(scope["path"])
        if state is not None and state.guard.insecure:
            extra = extra + _INSECURE
        browser = any(k in (b"origin", b"sec-fetch-site") for k, _ in scope["headers"])
        try:
            client = self._client(scope)
            self._same_origin(scope, state is not None and state.guard.insecure, browser)
        except AimsError as exc:
            await problem(send, exc, scope["path"], request_id, extra)
            return
        try:
            await front(scope, receive, send, client, request_id, extra)
        except AimsError as exc:
            await problem(send, exc, scope["path"], request_id, extra)
        except Exception as exc:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            await problem(send, unexpected(exc), scope["path"], request_id, extra)

    async def _predict(
        self, state: Any, name: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        request_id = random_hex(16)  # as uuid4().hex, without a system call each time
        path = scope["path"]
        guard = state.guard
        extra = self._headers + _INSECURE if guard.insecure else self._headers
        authorization = key = length = None
        browser = False
        for k, v in scope["headers"]:
            if k == b"authorization":
                authorization = v.decode("latin-1")
            elif k == b"x-routing-key":
                key = v.decode("latin-1")
            elif k == b"content-length":
                length = v
            elif k in (b"origin", b"sec-fetch-site"):
                browser = True
        try:
            client = self._client(scope)
            self._same_origin(scope, guard.insecure, browser)
            if guard.oidc is None:
                principal = guard.authenticate(authorization, client=client, path=path)
            else:  # a provider's token may need network and store work on first use
                principal = await run_in_threadpool(
                    guard.authenticate, authorization, client=client, path=path
                )
        except AimsError as exc:
            # The body is not read, so the connection cannot carry another request.
            exc.headers.setdefault(_CLOSE, "close")
            await problem(send, exc, path, request_id, extra)
            return
        try:
            limit = state.config.max_body_bytes
            try:
                body = await read_body(receive, limit, _length(length))
            except BodyTooLarge:
                state.metrics.rejected.labels(name, "max_body_bytes").inc()
                raise too_large(limit) from None
            if body is None:
                return  # the client went away
            routes = state.deployments.table.get(name)
            guard.permit(
                principal,
                role=PREDICT_ROLE,
                project=routes.project if routes is not None else None,
                client=client,
                path=path,
            )
            if routes is None:
                raise NotFound(f"model {name!r} is not served")
            result = await state.predictor.predict(
                routes, body, key, request_id, scope.get("query_string", b"")
            )
            try:
                answer = orjson.dumps(result, option=_NUMPY)
            except TypeError:  # an integer past 64 bits, quoted back in a rejected row
                answer = json.dumps(result).encode()
        except AimsError as exc:
            await problem(send, exc, path, request_id, extra)
            return
        except Exception as exc:
            log.exception("unexpected error on POST %s", path)
            await problem(send, unexpected(exc), path, request_id, extra)
            return
        await respond(send, 200, answer, request_id, _JSON + extra)

    def _client(self, scope: Scope) -> str:
        """The client's address, from a trusted proxy's headers when one sent the request."""
        peer = scope["client"][0] if scope.get("client") else "unknown"
        if not self.networks or not scope.get("client"):
            return peer
        if is_trusted(peer, self.networks):
            scope[TRUSTED_PROXY] = True
        client, proto = client_address(peer, scope.get("headers", ()), self.networks)
        if client != peer:
            scope["client"] = (client, 0)
        if proto is not None:
            scope["scheme"] = proto
        return client

    @staticmethod
    def _same_origin(scope: Scope, insecure: bool, browser: bool) -> None:
        """Refuse (403) what :class:`~aims.server.origin.SameOrigin` refuses."""
        message = None
        if insecure:
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if host_port(host, "http")[0] not in LOOPBACK_HOSTS:
                message = (
                    f"this server runs without authentication (--insecure-dev) and answers "
                    f"only requests to a loopback name, not {host[:100]!r}; open it as "
                    "http://127.0.0.1:PORT or http://localhost:PORT"
                )
        if message is None and browser:
            reason = cross_site_reason(scope)
            if reason is not None:
                message = (
                    f"cross-site request refused: {reason}; submit forms from the server's "
                    "own pages, and send API calls without an Origin header"
                )
        if message is not None:
            raise PermissionDenied(message)


def _length(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


async def problem(
    send: Send, exc: AimsError, path: str, request_id: str, extra: list[tuple[bytes, bytes]]
) -> None:
    """Answer ``exc`` as problem details, with its own headers and ``extra``."""
    body = problem_of(exc, instance=path, request_id=request_id)
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    await respond(send, exc.status, body, request_id, _PROBLEM + extra + headers)


async def respond(
    send: Send, status: int, body: bytes, request_id: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """Answer ``status`` with ``body`` and ``headers``, its length and the request id."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *headers,
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

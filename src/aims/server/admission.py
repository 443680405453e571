"""Admission of request bodies: authenticate first, then read at most the limit.

A body is the expensive part of a request to receive and hold, so nothing
reads it before the caller is known. For every request that carries a body
(``POST``, ``PUT``, ``PATCH``, ``DELETE``) this middleware, before the body is
received:

1. refuses (401) a route that needs a token when the request has no valid
   one (:meth:`~aims.server.auth.Guard.authenticate`: present, signed,
   unexpired, not revoked), so a tokenless upload is answered, and its
   connection closed, while the client is still sending;
2. refuses (413) a declared ``Content-Length`` over the path's limit (a file
   upload to an upload route, :func:`aims.server.uploads.is_upload`, has the
   upload limit, which the route itself enforces on the files);
3. counts the bytes as the app reads them and answers 413 the moment they
   pass the limit (a chunked body declares no length), so no more than the
   limit is ever held.

Public routes (the token exchange) and the dashboard (cookie sessions, with a
small body limit) skip the first step; the role and project checks of each
route still follow, once the body is in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from aims.errors import AimsError
from aims.server.auth import Guard
from aims.server.problems import problem_response
from aims.server.uploads import body_limit, is_upload
from aims.server.validation import (
    ASGIApp,
    BodyTooLarge,
    Message,
    Receive,
    Scope,
    Send,
    declared_length,
    no_body,
    too_large,
)

WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Refusal = Callable[[AimsError, Mapping[str, str]], Response]
"""How a path answers a refusal: the error and the request's headers (lower-case names)."""


class Admission:
    """ASGI middleware: authenticate, then stream the body within its limit (see module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        guard: Guard,
        limit_of: Callable[[str], int],
        public: Collection[str],
        cookie_prefixes: tuple[str, ...] = ("/ui/",),
        on_reject: Callable[[str], None] | None = None,
        upload_limit: int | None = None,
        answers: Mapping[str, Refusal] | None = None,
    ) -> None:
        self.app = app
        # A path whose clients read another error format than problems (OTLP/HTTP's Status).
        self.answers = dict(answers or {})
        self.upload_limit = upload_limit
        self.guard = guard
        self.limit_of = limit_of
        self.public = public
        self.cookie_prefixes = cookie_prefixes
        self.on_reject = on_reject

    def _needs_token(self, path: str) -> bool:
        return path not in self.public and not path.startswith(self.cookie_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self._needs_token(path):
            authorization = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None
            )
            client = scope["client"][0] if scope.get("client") else "unknown"
            try:
                if self.guard.oidc is None:
                    self.guard.authenticate(authorization, client=client, path=path)
                else:  # a provider's token may need network and store work on first use
                    await run_in_threadpool(
                        self.guard.authenticate, authorization, client=client, path=path
                    )
            except AimsError as exc:
                await _refuse(scope, send, exc, self.answers.get(path))
                return
        limit = self.limit_of(path)
        if self.upload_limit is not None and is_upload(path, _content_type(scope)):
            limit = body_limit(self.upload_limit)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            self._rejected(path)
            await _refuse(scope, send, too_large(limit), self.answers.get(path))
            return
        await self._stream(scope, receive, send, limit)

    def _rejected(self, path: str) -> None:
        if self.on_reject is not None:
            self.on_reject(path)

    async def _stream(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        refused = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        self._rejected(scope["path"])
                        await _refuse(
                            scope, send, too_large(limit), self.answers.get(scope["path"])
                        )
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not refused:
                raise


def _content_type(scope: Scope) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), None)


async def _refuse(scope: Scope, send: Send, exc: AimsError, answer: Refusal | None) -> None:
    # The body is not read, so the connection cannot carry another request.
    exc.headers.setdefault("Connection", "close")
    if answer is not None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        response = answer(exc, headers)
    else:
        response = problem_response(exc, instance=scope["path"])
    await response(scope, no_body, send)

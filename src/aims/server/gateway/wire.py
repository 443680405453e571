"""A small HTTP/1.1 client for the gateway's calls upstream: kept-alive connections, nothing else.

A general client (httpx) costs about a millisecond and a half of CPU per
request, which alone would use most of the gateway's budget of 2 ms. The
gateway sends one kind of request (a JSON ``POST``) to servers it knows, so
it needs far less: a pool of kept-alive connections per server, a request
written in one piece, and the answer read by the same C parser uvicorn uses
(httptools), with ``Content-Length`` and chunked bodies alike.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httptools
import orjson

from aims.core.audit import canonical_json

__all__ = ["MAX_ANSWER_BYTES", "Answer", "Pool", "WireError", "dumps", "dumps_sorted", "loads"]

MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""The largest answer read from an upstream server; a larger one is refused, not held."""


def dumps(message: Any) -> bytes:
    """``message`` as compact JSON (orjson, or the standard library for what orjson does
    not write, such as integers past 64 bits)."""
    try:
        return orjson.dumps(message)
    except TypeError:
        return json.dumps(message, separators=(",", ":")).encode()


def dumps_sorted(value: Any) -> str:
    """``value`` as JSON with sorted keys and no white space, as
    :func:`~aims.core.audit.canonical_json` writes it, about ten times faster (the
    audit payloads of a busy second's gateway calls); what orjson does not write goes to
    the standard library.

    >>> dumps_sorted({"b": [1, 2.5, None], "a": "é"})
    '{"a":"é","b":[1,2.5,null]}'
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return canonical_json(value)


def loads(data: bytes | str) -> Any:
    """The JSON value in ``data`` (``ValueError`` if it is not JSON); what orjson does not
    read (integers past 64 bits, a lone surrogate escaped) is read by the standard library."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


class WireError(Exception):
    """The server could not be reached, or its answer could not be read."""


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Connection(asyncio.Protocol):
    """One kept-alive connection, reading answers with httptools as the bytes arrive.

    A protocol rather than a stream pair: the answer is parsed in the loop's
    data callback and handed over through one future, where a stream reader
    would buffer the bytes, wake the reading task and copy them again (about
    a third of the client's CPU per request).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.keep = False
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._size = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(EOFError("the connection closed before the answer was complete"))

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self.close()  # bytes nobody asked for: the connection cannot be trusted again
            return
        self._size += len(data)
        if self._size > MAX_ANSWER_BYTES:
            self._fail(WireError(f"the answer is larger than {MAX_ANSWER_BYTES} bytes"))
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        # Decided here rather than later: the parser forgets once the message is complete.
        self.keep = (
            self.parser.get_http_version() == "1.1"
            and self._headers.get("connection", "").lower() != "close"
        )
        answer = Answer(self.parser.get_status_code(), self._headers, b"".join(self._chunks))
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    # the pool's side

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        """Write ``request``; the future of its answer."""
        assert self.transport is not None  # set when connected
        self.waiter = asyncio.get_running_loop().create_future()
        self._headers, self._chunks, self._size, self.keep = {}, [], 0, False
        self.transport.write(request)
        return self.waiter

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        """Close the connection (an answer still awaited fails)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(conn: _Connection) -> None:
    conn._fail(TimeoutError())
    conn.close()


class Pool:
    """Kept-alive connections to one origin (``http://`` or ``https://``)."""

    def __init__(self, url: str, *, size: int = 16) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.tls else 80)
        self.host_header = parts.netloc
        self.size = size
        self._idle: list[_Connection] = []
        self._ssl = ssl.create_default_context() if self.tls else None

    async def post(self, path: str, headers: dict[str, str], body: bytes, timeout: float) -> Answer:
        """``POST`` ``body`` to ``path``; the answer, read whole, within ``timeout`` seconds."""
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host_header}",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            for attempt in (1, 2):
                conn = self._take()
                fresh = conn is None
                if conn is None:
                    conn = await self._connect(deadline - loop.time())
                # A timer on the answer's future: cheaper than a deadline on the task
                # (asyncio.timeout), which takes several Python calls per request.
                timer = loop.call_at(deadline, _expire, conn)
                try:
                    answer = await conn.send(request)
                except TimeoutError:  # an OSError, but never sent again
                    conn.close()
                    raise
                except (OSError, EOFError, httptools.HttpParserError):
                    conn.close()
                    if fresh or attempt == 2:
                        raise
                    continue  # a kept-alive connection the server had closed: once more, anew
                except BaseException:  # too large, or cancelled mid-answer
                    conn.close()
                    raise
                finally:
                    timer.cancel()
                if conn.keep and not conn.closed and len(self._idle) < self.size:
                    self._idle.append(conn)
                else:
                    conn.close()
                return answer
        except TimeoutError:
            raise WireError(f"no answer within {timeout:g} s") from None
        except (OSError, EOFError, httptools.HttpParserError) as exc:
            raise WireError(str(exc) or type(exc).__name__) from exc
        raise WireError("unreachable")  # the loop returns or raises

    def _take(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            # Closing but not yet told (the server's close arrived in this loop turn).
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
            conn.close()
        return None

    async def _connect(self, timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(max(0.0, timeout)):
            _transport, conn = await loop.create_connection(
                _Connection,
                self.host,
                self.port,
                ssl=self._ssl,
                server_hostname=self.host if self.tls else None,
            )
        return conn

    def close(self) -> None:
        """Close the idle connections."""
        for conn in self._idle:
            conn.close()
        self._idle.clear()

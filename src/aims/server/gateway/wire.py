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
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

__all__ = ["MAX_ANSWER_BYTES", "Answer", "Pool", "WireError"]

MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""The largest answer read from an upstream server; a larger one is refused, not held."""


class WireError(Exception):
    """The server could not be reached, or its answer could not be read."""


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Reading:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    name: bytes = b""
    done: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class Pool:
    """Kept-alive connections to one origin (``http://`` or ``https://``)."""

    def __init__(self, url: str, *, size: int = 16) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.tls else 80)
        self.host_header = parts.netloc
        self.size = size
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._ssl = ssl.create_default_context() if self.tls else None

    async def post(self, path: str, headers: dict[str, str], body: bytes, timeout: float) -> Answer:
        """``POST`` ``body`` to ``path``; the answer, read whole."""
        try:
            # A deadline on this task, where wait_for would start another task per call.
            async with asyncio.timeout(timeout):
                return await self._post(path, headers, body)
        except TimeoutError:
            raise WireError(f"no answer within {timeout:g} s") from None
        except (OSError, httptools.HttpParserError) as exc:
            raise WireError(str(exc) or type(exc).__name__) from exc

    async def _post(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host_header}",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            fresh = not self._idle
            reader, writer = self._idle.pop() if self._idle else await self._connect()
            try:
                writer.write(request)
                answer, keep = await self._read(reader)
            except (WireError, asyncio.CancelledError):  # too large, or timed out mid-answer
                writer.close()
                raise
            except (OSError, httptools.HttpParserError, EOFError):
                writer.close()
                if fresh or attempt == 2:
                    raise
                continue  # a kept-alive connection the server had closed: once more, anew
            if keep and len(self._idle) < self.size:
                self._idle.append((reader, writer))
            else:
                writer.close()
            return answer
        raise WireError("unreachable")  # the loop returns or raises

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(
            self.host, self.port, ssl=self._ssl, server_hostname=self.host if self.tls else None
        )

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
        state = _Reading()
        parser = httptools.HttpResponseParser(state)
        size = 0
        while not state.done:
            data = await reader.read(65536)
            if not data:
                raise EOFError("the connection closed before the answer was complete")
            size += len(data)
            if size > MAX_ANSWER_BYTES:
                raise WireError(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
            parser.feed_data(data)
        # Decided here rather than by the parser, which forgets once the message is complete.
        keep = (
            parser.get_http_version() == "1.1"
            and state.headers.get("connection", "").lower() != "close"
        )
        return Answer(parser.get_status_code(), state.headers, b"".join(state.chunks)), keep

    def close(self) -> None:
        """Close the idle connections."""
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

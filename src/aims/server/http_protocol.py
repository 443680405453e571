"""uvicorn's HTTP/1.1 protocol, sending an answer's head and body in one write.

uvicorn writes a response's status line and headers as soon as the
application starts the response, and its body when the body comes: two
system calls and, on loopback, two segments, so the client wakes once for
the head and again for the body. For the short JSON answers of the predict
and gateway paths that second write and wake-up are a measurable part of a
call (see ``docs/benchmarks.md``, MCP gateway).

:class:`OneWriteProtocol` is uvicorn's ``httptools`` protocol with its
transport behind :class:`HeldWrites`, which keeps a write back until the
next one and sends both together. Nothing is kept longer than the event
loop's current turn: a held write goes out when the next write joins it,
when the response completes, when the connection closes, or at the latest
on the loop's next iteration (a streamed answer's head and each of its
events still leave at once). The bytes and their order are never changed.

Without ``httptools`` (an install without uvicorn's fast parser)
:func:`protocol_class` answers ``"auto"`` and uvicorn chooses as before.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

__all__ = ["HeldWrites", "protocol_class"]

JOIN_LIMIT = 64 * 1024
"""Past this many bytes a held write and the next one are sent apart (joining copies)."""


class HeldWrites:
    """A transport whose writes wait for the next write, or the loop's next turn, to leave together.

    Everything but ``write`` and ``close`` is the wrapped transport's own.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        elif len(held) + len(data) <= JOIN_LIMIT:
            self._held = None
            self._transport.write(held + data)
        else:
            self._held = None
            self._transport.write(held)
            self._transport.write(data)

    def flush(self) -> None:
        """Send what is held, if anything."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@cache
def protocol_class() -> Any:
    """The ``http`` setting for uvicorn: :class:`OneWriteProtocol`, or ``"auto"`` without httptools."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "auto"

    class OneWriteProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol whose answers leave in one write (see the module)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(HeldWrites(transport, self.loop))  # type: ignore[arg-type]

        def on_response_complete(self) -> None:
            self.transport.flush()  # type: ignore[attr-defined]
            super().on_response_complete()

    return OneWriteProtocol

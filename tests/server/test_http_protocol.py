"""An answer's head and body leave in one write; nothing is held past the loop's turn.

The server side is real uvicorn with :func:`protocol_class`, the client a raw
socket, so what is asserted is what arrives on the wire.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aims.server.http_protocol import JOIN_LIMIT, HeldWrites, protocol_class
from tests.server.conftest import LiveServer

BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"ok": True}}).encode()
released = threading.Event()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path = scope["path"]
    if path == "/echo":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send_whole(send, body)
    elif path == "/wait":
        # The head goes out, then the body only once the test allows it.
        await send(start(len(BODY)))
        while not released.is_set():
            await asyncio.sleep(0.005)
        await send({"type": "http.response.body", "body": BODY})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for event in (b"data: one\n\n", b"data: two\n\n"):
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/large":
        await send_whole(send, b"x" * (JOIN_LIMIT + 10))
    else:
        await send_whole(send, BODY)


def start(length: int) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % length)]
    return {"type": "http.response.start", "status": 200, "headers": headers}


async def send_whole(send: Any, body: bytes) -> None:
    await send(start(len(body)))
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(app) as live:
        yield live


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request(path: str, method: str = "GET", body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: t\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def read_answer(sock: socket.socket, *, head_only: bool = False) -> bytes:
    """One whole answer (head, and the body its content-length announces)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += recv(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    if head_only:
        return head + b"\r\n\r\n" + rest
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += recv(sock)
    return head + b"\r\n\r\n" + rest


def recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(1 << 20)
    if not chunk:
        raise AssertionError("the server closed the connection")
    return chunk


def test_answers_arrive_whole_on_a_kept_alive_connection(server: LiveServer) -> None:
    with connect(server) as sock:
        for _ in range(20):
            sock.sendall(request("/"))
            first = recv(sock)
            assert first.startswith(b"HTTP/1.1 200 OK\r\n")
            assert first.endswith(b"\r\n\r\n" + BODY), first


def test_a_held_head_leaves_on_the_loops_next_turn(server: LiveServer) -> None:
    released.clear()
    with connect(server) as sock:
        sock.sendall(request("/wait"))
        # The body is not sent until released: the head must arrive on its own.
        head = read_answer(sock, head_only=True)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert head.endswith(b"\r\n\r\n")
        released.set()
        rest = b""
        while len(rest) < len(BODY):
            rest += recv(sock)
        assert rest == BODY


def test_a_streamed_answer_arrives_whole_and_in_order(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(request("/stream"))
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            data += recv(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert body == b"b\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n"


def test_head_requests_pipelining_and_100_continue_keep_the_connection_right(
    server: LiveServer,
) -> None:
    with connect(server) as sock:
        # HEAD: a head without a body, then the connection serves the next request.
        sock.sendall(request("/", method="HEAD"))
        head = read_answer(sock, head_only=True)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
        # Two requests in one segment: two answers, in order.
        sock.sendall(request("/echo", "POST", b"first") + request("/echo", "POST", b"second"))
        answers = b""
        while answers.count(b"HTTP/1.1 200 OK") < 2 or not answers.endswith(b"second"):
            answers += recv(sock)
        assert answers.index(b"first") < answers.index(b"second")
    # Expect: 100-continue is answered before the body is sent.
    with connect(server) as sock:
        body = b"the body"
        head = (
            f"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: {len(body)}\r\n"
            "expect: 100-continue\r\n\r\n"
        ).encode()
        sock.sendall(head)
        assert recv(sock).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        assert read_answer(sock).endswith(b"\r\n\r\n" + body)


def test_a_large_body_arrives_whole(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(request("/large"))
        answer = read_answer(sock)
    assert answer.endswith(b"\r\n\r\n" + b"x" * (JOIN_LIMIT + 10))


class Recorder(asyncio.Transport):
    """A transport that records its writes (the stand-in for the socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_held_writes_join_flush_and_close() -> None:
    async def scenario() -> list[list[bytes]]:
        loop = asyncio.get_running_loop()
        seen = []
        raw = Recorder()
        held = HeldWrites(raw, loop)
        held.write(b"head")
        held.write(b"body")  # joins the held head
        seen.append(list(raw.writes))
        held.write(b"alone")
        seen.append(list(raw.writes))  # still held
        await asyncio.sleep(0)  # the loop's next turn sends it
        seen.append(list(raw.writes))
        held.write(b"a" * JOIN_LIMIT)
        held.write(b"b")  # past the limit: two writes
        seen.append(raw.writes[2:])
        held.write(b"last")
        held.close()  # close sends what is held first
        seen.append(raw.writes[4:])
        held.write(b"after")
        await asyncio.sleep(0)  # a closing transport gets nothing more
        seen.append(raw.writes[5:])
        return seen

    loop = asyncio.new_event_loop()
    try:
        seen = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert seen == [
        [b"headbody"],
        [b"headbody"],
        [b"headbody", b"alone"],
        [b"a" * JOIN_LIMIT, b"b"],
        [b"last"],
        [],
    ]


def test_without_httptools_uvicorn_chooses() -> None:
    import sys

    protocol_class.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(sys.modules, "uvicorn.protocols.http.httptools_impl", None)
            assert protocol_class() == "auto"
    finally:
        protocol_class.cache_clear()
    assert protocol_class() != "auto"

"""The gateway's HTTP/1.1 client (:mod:`aims.server.gateway.wire`) against a real socket server.

The server is a few lines of asyncio on loopback that answers each request
with what the test scripts: kept-alive or closing, by length or chunked,
slow, oversized or malformed, so that each of the client's paths is taken
over a real connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from aims.server.gateway.wire import MAX_ANSWER_BYTES, Pool, WireError, dumps, loads
from tests.server.conftest import run_coroutine

Answerer = Callable[[bytes], Any]


def _ok(body: bytes = b'{"ok":true}', *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*head, *extra]) + "\r\n\r\n").encode() + body


class Server:
    """A loopback HTTP server answering each request with ``answer(request_body)``.

    ``answer`` returns the bytes to write (``None`` to close without answering)
    or a coroutine of them; every connection accepted is counted.
    """

    def __init__(self, answer: Answerer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self, port: int = 0) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self._writers:  # kept-alive connections too, as a restarted server would
            w.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.requests.append(body)
                out = self.answer(body)
                if asyncio.iscoroutine(out):
                    out = await out
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def run(coro: Any) -> Any:
    async def main() -> Any:
        return await coro

    return run_coroutine(main)


async def _post(pool: Pool, body: bytes = b"{}", timeout: float = 5.0) -> Any:
    return await pool.post("/mcp", {"Content-Type": "application/json"}, body, timeout)


def test_answers_come_back_whole_over_one_kept_alive_connection() -> None:
    async def main() -> None:
        server = await Server(lambda body: _ok(b'{"echo":' + body + b"}")).start()
        pool = Pool(server.url)
        try:
            for i in range(5):
                answer = await _post(pool, str(i).encode())
                assert answer.status == 200
                assert answer.headers["content-type"] == "application/json"
                assert answer.body == b'{"echo":%d}' % i
            assert server.connections == 1
            assert server.requests == [b"0", b"1", b"2", b"3", b"4"]
        finally:
            pool.close()
            await server.stop()

    run(main())


def test_concurrent_requests_each_get_their_own_answer() -> None:
    async def slow_echo(body: bytes) -> bytes:
        await asyncio.sleep(0.01 * (int(body) % 3))
        return _ok(body)

    async def main() -> None:
        server = await Server(slow_echo).start()
        pool = Pool(server.url)
        try:
            answers = await asyncio.gather(*(_post(pool, str(i).encode()) for i in range(8)))
            assert [a.body for a in answers] == [str(i).encode() for i in range(8)]
            assert 1 < server.connections <= 8
            again = await asyncio.gather(*(_post(pool, b"7") for _ in range(4)))
            assert {a.body for a in again} == {b"7"}
            assert server.connections <= 8  # the second round reuses the kept connections
        finally:
            pool.close()
            await server.stop()

    run(main())


def test_the_pool_reconnects_after_the_server_restarts() -> None:
    async def main() -> None:
        first = await Server(lambda body: _ok(b"first")).start()
        pool = Pool(first.url)
        try:
            assert (await _post(pool)).body == b"first"
            await first.stop()  # its kept-alive connection to the pool goes with it
            with pytest.raises(WireError):
                await _post(pool)  # nothing listens now: refused, said so
            second = await Server(lambda body: _ok(b"second")).start(first.port)
            try:
                assert (await _post(pool)).body == b"second"
                assert (await _post(pool)).body == b"second"
                assert second.connections == 1
            finally:
                await second.stop()
        finally:
            pool.close()

    run(main())


def test_a_kept_connection_the_server_drops_after_a_request_is_retried_once_anew() -> None:
    answers = iter([_ok(b"one"), None, _ok(b"two")])

    async def main() -> None:
        server = await Server(lambda body: next(answers)).start()
        pool = Pool(server.url)
        try:
            assert (await _post(pool)).body == b"one"
            # The server reads the next request on the kept connection, then closes it
            # without an answer: sent once more on a new connection.
            assert (await _post(pool)).body == b"two"
            assert server.connections == 2
        finally:
            pool.close()
            await server.stop()

    run(main())


def test_chunked_answers_and_closing_answers_are_read() -> None:
    chunked = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n4\r\n:12}\r\n0\r\n\r\n'
    )
    answers = iter([chunked, _ok(b"closing", "Connection: close"), _ok(b"after")])

    async def main() -> None:
        server = await Server(lambda body: next(answers)).start()
        pool = Pool(server.url)
        try:
            assert (await _post(pool)).body == b'{"a":12}'
            assert (await _post(pool)).body == b"closing"
            assert (await _post(pool)).body == b"after"
            assert server.connections == 2  # the closing answer's connection was not kept
        finally:
            pool.close()
            await server.stop()

    run(main())


def test_a_slow_answer_times_out_and_is_not_sent_again() -> None:
    async def never(body: bytes) -> bytes:
        await asyncio.sleep(30)
        return _ok()

    async def main() -> None:
        server = await Server(never).start()
        pool = Pool(server.url)
        try:
            with pytest.raises(WireError, match=r"no answer within 0\.2 s"):
                await _post(pool, timeout=0.2)
            assert len(server.requests) == 1
        finally:
            pool.close()
            await server.stop()

    run(main())


def test_an_answer_too_large_or_not_http_is_refused() -> None:
    huge = b"x" * (MAX_ANSWER_BYTES + 1)
    answers = iter([_ok(huge), b"this is not HTTP\r\n\r\n", _ok(b"fine")])

    async def main() -> None:
        server = await Server(lambda body: next(answers)).start()
        pool = Pool(server.url)
        try:
            with pytest.raises(WireError, match="larger than"):
                await _post(pool)
            with pytest.raises(WireError):
                await _post(pool)
            assert (await _post(pool)).body == b"fine"
        finally:
            pool.close()
            await server.stop()

    run(main())


def test_json_past_what_orjson_reads_and_writes_is_still_read_and_written() -> None:
    big = {"id": 1, "n": 2**70, "s": "é"}
    assert loads(dumps(big)) == big
    assert loads(b'{"a":"\\ud800"}') == {"a": "\ud800"}  # a lone surrogate, escaped
    assert loads('[1, 2.5, "x"]') == [1, 2.5, "x"]
    for bad in (b"{not json", b"\xff\xfe{", b""):
        with pytest.raises(ValueError):
            loads(bad)

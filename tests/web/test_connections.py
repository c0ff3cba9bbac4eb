"""The limits of a connection, against a real uvicorn with short timeouts (app/web/protocol.py):
head size while parsing, head time, open connections, answers nobody reads, early answers read by
clients that send `Connection: close`, WebSocket attempts. Timings stay in bench/attack.py: these
tests only check what happens, with margins of whole seconds."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.server import ServerState

from app.cli import _bind
from app.web.protocol import ACCEPT_FAILED, HardenedHttpToolsProtocol, descriptor_bounds, report_accept_failures_quietly
from tests.live_server import LiveServer
from tests.web.raw_http import (
    assert_refused_without_a_word,
    busy_connections,
    closed_within,
    closing,
    connect,
    post_head,
    read_answer,
)

LIMITS = {
    "TERRITORIALITE_HEADER_TIMEOUT_SECONDS": "1",
    "TERRITORIALITE_WRITE_TIMEOUT_SECONDS": "1",
    "TERRITORIALITE_BODY_TIMEOUT_SECONDS": "5",
    "TERRITORIALITE_MAX_CONNECTIONS": "20",
}


@pytest.fixture(scope="module")
def strict() -> Iterator[LiveServer]:
    server = LiveServer(env=LIMITS).start()
    yield server
    server.stop()
    assert [line for line in server.logs().splitlines() if '"level": "error"' in line] == []


def metric(server: LiveServer, reason: str) -> float:
    text = httpx.get(server.base_url + "/metrics").text
    prefix = f'territorialite_connections_closed_total{{reason="{reason}"}} '
    return next((float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix)), 0.0)


def test_an_oversized_head_is_refused_before_it_ends(server: LiveServer) -> None:
    """The head never ends: the 431 comes after 16 KiB, while the client could send more."""
    with connect(server.port) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Padding: " + b"a" * 40_000)
        answer = read_answer(connection)
    assert answer.status == 431
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close"
    assert answer.json()["type"] == "urn:territorialite:problem:headers-too-large"


def test_a_head_sent_too_slowly_gets_a_408_and_the_connection_closes(strict: LiveServer) -> None:
    before = metric(strict, "header_timeout")
    with connect(strict.port) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(0.5)
        connection.sendall(b"Host: test\r\n")  # still coming, but not complete in time
        answer = read_answer(connection)
        assert closed_within(connection, 5) is not None
    assert answer.status == 408
    assert answer.json()["type"] == "urn:territorialite:problem:request-timeout"
    assert metric(strict, "header_timeout") == before + 1


def test_a_silent_connection_is_closed_without_an_answer(strict: LiveServer) -> None:
    with connect(strict.port) as connection:
        connection.settimeout(5)
        assert connection.recv(100) == b""


def test_answers_nobody_reads_are_dropped(strict: LiveServer) -> None:
    """Eight pipelined 10,000-physician rankings (1 MB of answer each) and never a read: once the
    kernel's buffers are full the answers wait in the worker, and the connection is dropped."""
    physicians = ",".join(f'{{"id":"p{i}","location":{{"commune":"13055"}}}}' for i in range(10_000))
    body = ('{"physicians":[' + physicians + "]}").encode()
    before = metric(strict, "write_timeout")
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # no room on this side
        connection.connect(("127.0.0.1", strict.port))
        connection.sendall((post_head("/v1/rankings", len(body)) + body) * 8)
        deadline = time.monotonic() + 60
        while metric(strict, "write_timeout") == before and time.monotonic() < deadline:
            time.sleep(0.5)
    assert metric(strict, "write_timeout") == before + 1


def test_at_the_cap_a_connection_that_waited_for_a_head_makes_room(strict: LiveServer) -> None:
    """20 connections at most: a new one takes the place of one that has waited over a quarter of a
    second without sending a request head; one that just connected is not evicted (it may be a probe
    about to send), and the newcomer is refused instead."""
    idle = [connect(strict.port) for _ in range(20)]
    try:
        with connect(strict.port) as newcomer:  # all 20 connected a moment ago: no room
            newcomer.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            closed_after, said = closing(newcomer, 2)
            assert closed_after is not None
            assert said == b""
        time.sleep(1.5)
        assert httpx.get(strict.base_url + "/healthz").status_code == 200  # took an idle one's place
        assert sum(closed_within(c, 0.2) is not None for c in idle) >= 1
    finally:
        for connection in idle:
            connection.close()


def test_at_the_cap_with_every_connection_busy_a_new_one_is_refused(strict: LiveServer) -> None:
    time.sleep(0.5)
    with busy_connections(strict.port, 20):
        assert_refused_without_a_word(strict.port)
    time.sleep(0.5)
    assert httpx.get(strict.base_url + "/healthz").status_code == 200


@pytest.mark.parametrize("round_", range(5))
def test_urllib_gets_the_413_of_a_5_mib_body(server: LiveServer, round_: int) -> None:
    """urllib always sends `Connection: close`: the server reads the rest before closing, else the
    client would see a reset instead of the answer."""
    request = urllib.request.Request(
        server.base_url + "/v1/rankings", data=b" " * (5 << 20), headers={"content-type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert refused.value.headers["content-type"] == "application/problem+json"


def test_an_early_answer_on_a_kept_alive_connection_is_followed_by_a_close(server: LiveServer) -> None:
    with connect(server.port) as connection:
        connection.sendall(post_head("/v1/rankings", 3 << 20) + b" " * 100_000)
        answer = read_answer(connection)
        assert answer.status == 413
        assert answer.headers["connection"] == "close"
        connection.sendall(b" " * ((3 << 20) - 100_000))
        assert closed_within(connection, 10) is not None


@pytest.mark.parametrize("path", ["/v1/nowhere", "/healthz"])
def test_any_answer_before_the_whole_body_says_the_connection_closes(server: LiveServer, path: str) -> None:
    """A 404 or a 405 comes before the body is read: told nothing, a client would send its next
    request on a connection about to close, and see it dropped unanswered."""
    with connect(server.port) as connection:
        connection.sendall(post_head(path, 1000) + b" " * 10)
        answer = read_answer(connection)
        assert answer.status in (404, 405)
        assert answer.headers["connection"] == "close"
        connection.sendall(b" " * 990)
        assert closed_within(connection, 10) is not None


def test_an_answer_after_the_whole_body_keeps_the_connection(server: LiveServer) -> None:
    with connect(server.port) as connection:
        for _ in range(3):
            connection.sendall(post_head("/v1/nowhere", 2) + b"{}")
            answer = read_answer(connection)
            assert answer.status == 404
            assert "connection" not in answer.headers


def test_a_websocket_attempt_is_plain_http_and_no_warning(strict: LiveServer) -> None:
    with connect(strict.port) as connection:
        connection.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert read_answer(connection).status == 200
    time.sleep(0.2)
    assert [line for line in strict.logs().splitlines() if '"level": "warning"' in line and "pgrade" in line] == []


@pytest.mark.parametrize(
    ("wanted", "descriptors", "expected"),
    [(4096, 20_000, (4096, 512)), (4096, 4096, (2976, 512)), (4096, 1024, (672, 128)), (50, 300, (50, 37))],
)
def test_the_cap_fits_the_descriptor_limit(wanted: int, descriptors: int, expected: tuple[int, int]) -> None:
    assert descriptor_bounds(wanted, descriptors) == expected


def test_pipelined_requests_are_all_answered(server: LiveServer) -> None:
    """Requests sent back to back before any answer (pipelining) are each counted as a head of their own."""
    body = b'{"physicians": [{"id": "a", "location": {"commune": "13055"}}], "policy": "radius"}' + b" " * 40_000
    with connect(server.port) as connection:
        connection.sendall(
            (post_head("/v1/rankings", len(body)) + body) * 5 + b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        statuses = [read_answer(connection).status for _ in range(6)]
    assert statuses == [200] * 6


class _Transport(asyncio.Transport):
    """Enough of a socket transport for one connection in-process."""

    def __init__(self) -> None:
        super().__init__()
        self.written, self.closing = b"", False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _refuse_unread(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers at once, as a 413 does, before the body has come."""
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-length", b"0"), (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b""})


def test_a_connection_is_freed_as_soon_as_it_is_lost() -> None:
    """No reference cycle between a connection and its requests: freed by reference counting alone,
    not when the garbage collector next looks (rarely, with its thresholds raised: app/web/application.py),
    or a flood of early answers would hold every connection's buffers meanwhile."""

    async def one_connection() -> weakref.ref[HardenedHttpToolsProtocol]:
        config = Config(app=_refuse_unread, ws="none", lifespan="off", proxy_headers=False)
        config.load()
        protocol = HardenedHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(post_head("/v1/rankings", 100_000) + b" " * 1_000)
        await asyncio.sleep(0.05)  # answered; the rest of the body is being drained
        assert transport.written.startswith(b"HTTP/1.1 413")
        protocol.connection_lost(None)
        await asyncio.sleep(0.01)
        return weakref.ref(protocol)

    gc.disable()
    try:
        assert asyncio.run(one_connection())() is None
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"BLAH\r\n\r\n",
        b"POST /v1/rankings HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /v1/rankings HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
    ],
)
def test_what_is_not_http_gets_a_problem_too(server: LiveServer, request_bytes: bytes) -> None:
    with connect(server.port) as connection:
        connection.sendall(request_bytes)
        answer = read_answer(connection)
    assert answer.status == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:territorialite:problem:malformed-http"


def test_accepts_failing_for_want_of_descriptors_are_noted_not_logged_each(caplog: pytest.LogCaptureFixture) -> None:
    """asyncio reports each failed accept, with a traceback: a flood of connections past the
    descriptor limit would flood the log. Noted once a minute with a count, and counted."""
    loop = asyncio.new_event_loop()
    try:
        report_accept_failures_quietly(loop)
        before = metric_value("accept_failed")
        with caplog.at_level(logging.INFO):
            for _ in range(1000):
                loop.call_exception_handler({"message": ACCEPT_FAILED, "exception": OSError(24, "Too many open files")})
            loop.call_exception_handler({"message": "something else went wrong"})
    finally:
        loop.close()
    assert metric_value("accept_failed") == before + 1000
    noted = [r for r in caplog.records if r.name == "territorialite.connections"]
    assert len(noted) <= 1
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == ["something else went wrong"]


def metric_value(reason: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("territorialite_connections_closed_total", {"reason": reason}) or 0.0


def test_connections_accepted_on_the_sockets_serve_binds_send_without_delay() -> None:
    """asyncio sets TCP_NODELAY on an accepted connection only if its listening socket says
    IPPROTO_TCP; without it, an answer written in two parts (head, body) waits for the client's
    delayed ACK: 40 ms a request on a keep-alive connection (make bench saw 23 req/s on one)."""

    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        listening = _bind("127.0.0.1", 0, "requests")
        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        _, writer = await asyncio.open_connection("127.0.0.1", listening.getsockname()[1])
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(nodelay_of_an_accepted_connection()) == 1

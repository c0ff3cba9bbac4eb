"""HTTP/1.1 by hand over a socket, for what clients libraries will not do: stop halfway, send slowly,
never read."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def post_head(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def read_answer(connection: socket.socket) -> Answer:
    """One answer with a Content-Length (all this service sends); what follows it stays unread."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = connection.recv(1)
        if not byte:
            raise ConnectionError(f"closed before an answer: {head!r}")
        head += byte
    status_line, *lines = head.decode("latin-1").strip().split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    body = b""
    while len(body) < int(headers["content-length"]):
        chunk = connection.recv(int(headers["content-length"]) - len(body))
        if not chunk:
            break
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body)


def closed_within(connection: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (reading and dropping what comes), or None."""
    return closing(connection, seconds)[0]


def closing(connection: socket.socket, seconds: float) -> tuple[float | None, bytes]:
    """(seconds until the server closed the connection or None, what it sent meanwhile)."""
    started, received = time.monotonic(), b""
    connection.settimeout(0.1)
    while time.monotonic() - started < seconds:
        try:
            data = connection.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # reset
            return time.monotonic() - started, received
        if not data:
            return time.monotonic() - started, received
        received += data
    return None, received


@contextlib.contextmanager
def busy_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections each busy with a request whose body is still coming, held open."""
    busy = [connect(port) for _ in range(count)]
    try:
        for connection in busy:
            connection.sendall(post_head("/v1/rankings", 100) + b"{")
        time.sleep(1.5)  # the server has read every head
        yield busy
    finally:
        for connection in busy:
            connection.close()


def assert_refused_without_a_word(port: int) -> None:
    """A new connection is closed before any answer, its request unread."""
    with connect(port) as refused:
        refused.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        closed_after, said = closing(refused, 2)
        assert closed_after is not None
        assert said == b""

"""Clients, standard library only: plain requests, a heavy legal one, probes, and the two attacks
replayed through nginx (slow headers, an oversize body sent the way Python's urllib sends it)."""

from __future__ import annotations

import contextlib
import csv
import http.client
import json
import random
import selectors
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tools.container_test.engine import ROOT
from tools.container_test.steps import CheckError

# The README's example: p3 (same département), then p2 (adjacent), then 10101010101 (outside).
README_RANKING = {
    "patient": {"location": {"postal_code": "13001"}},
    "physicians": [
        {"id": "10101010101", "location": {"commune": "75056"}},
        {"id": "p2", "location": {"coordinates": {"lat": 43.9493, "lon": 4.8055}}},
        {"id": "p3", "location": {"commune": "13055"}},
    ],
}
README_ORDER = ["p3", "p2", "10101010101"]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> dict:
        return json.loads(self.body)


def request(url: str, body: bytes | None = None, timeout: float = 10) -> Answer:
    """One request on a new connection, as a probe or a first-time client makes it."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    started = time.monotonic()
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request("POST" if body is not None else "GET", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, content, time.monotonic() - started
        )
    finally:
        connection.close()


def post_while(url: str, body: bytes, meanwhile: Callable[[], None], timeout: float = 60) -> Answer:
    """POSTs `body` with its last kibibyte held back, calls `meanwhile()`, then sends that kibibyte and
    reads the answer: the request is in flight, its body not yet complete, whatever `meanwhile` does.
    The connection first carries a GET /healthz, so that the server has accepted it before."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    held_back = 1024
    try:
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        started = time.monotonic()
        connection.putrequest("POST", parts.path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body[:-held_back])
        meanwhile()
        connection.send(body[-held_back:])
        response = connection.getresponse()
        content = response.read()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, content, time.monotonic() - started
        )
    finally:
        connection.close()


def wait_until_answers(url: str, timeout: float) -> float:
    """Seconds until `url` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if request(url, timeout=1).status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise CheckError(f"{url} did not answer 200 within {timeout:.0f} s")


def ranking_order(answer: Answer) -> list[str]:
    return [entry["id"] for entry in answer.json()["ranking"]]


def heavy_ranking(size: int = 10_000) -> bytes:
    """A heavy legal ranking: `size` physicians by commune code (10,000: the contract's maximum)."""
    with (ROOT / "geodata/communes.csv").open(encoding="utf-8") as rows:
        codes = [row["code"] for row in csv.DictReader(rows) if row["lat"]]
    pick = random.Random(12).choice
    physicians = [{"id": f"p{i}", "location": {"commune": pick(codes)}} for i in range(size)]
    return json.dumps({"patient": {"location": {"postal_code": "69003"}}, "physicians": physicians}).encode()


def heavy_audit(sessions: int = 1000, proposals_per_offer: int = 11) -> bytes:
    """The heaviest legal request found: an audit of the maximum 1,000 sessions, each with two offers of
    physicians given by coordinates, just under the 2 MiB body limit (~2 s of work on one core)."""
    rng = random.Random(13)

    def proposals() -> list[dict[str, object]]:
        return [
            {
                "id": f"p{i}",
                "location": {
                    "coordinates": {"lat": round(rng.uniform(41.5, 51), 3), "lon": round(rng.uniform(-4.5, 7.5), 3)}
                },
            }
            for i in range(proposals_per_offer)
        ]

    recorded = [
        {
            "session_id": f"s{number:07d}",
            "timestamp": f"2026-11-01T{8 + number // 60 % 12:02d}:{number % 60:02d}:00+01:00",
            "channel": "video",
            "offers": {"with_appointment": True, "without_appointment": True},
            "information_message_shown": True,
            "location_input_offered": True,
            "patient": {"location": {"postal_code": "69003"}},
            "proposals": {"with_appointment": proposals(), "without_appointment": proposals()},
        }
        for number in range(sessions)
    ]
    return json.dumps({"sessions": recorded}).encode()


@dataclass
class Loop:
    """A client that sends the same request again and again on one connection until stopped."""

    url: str
    body: bytes
    durations: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=60)
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                connection.request("POST", parts.path, body=self.body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                self.statuses.append(response.status)
            except OSError:
                self.statuses.append(0)
                connection.close()
            self.durations.append(time.monotonic() - started)
        connection.close()


def probe_series(url: str, seconds: float, interval: float, timeout: float = 10) -> list[float]:
    """Latencies of probes on new connections, one every `interval` s (a failed probe counts as its
    full timeout)."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            answer = request(url, timeout=timeout)
            latencies.append(answer.seconds if answer.status == 200 else timeout)
        except OSError:
            latencies.append(timeout)
        time.sleep(interval)
    return latencies


@dataclass(frozen=True)
class SlowOutcome:
    cut_after: list[float]  # seconds until the server closed each connection
    answered: int  # connections that got any bytes back (nginx may send a 408)
    still_open: int


def slow_headers(host: str, port: int, connections: int, limit: float) -> SlowOutcome:
    """`connections` clients sending a request's headers at 1 byte/s; how long until each is cut.
    Gives up (still_open) after `limit` s."""
    selector = selectors.DefaultSelector()
    opened: dict[socket.socket, float] = {}
    for _ in range(connections):
        client = socket.create_connection((host, port), timeout=5)
        client.setblocking(False)
        selector.register(client, selectors.EVENT_READ, data=client)
        opened[client] = time.monotonic()
    header = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 10_000
    cut_after: list[float] = []
    answered = 0
    sent = 0
    next_byte = time.monotonic()
    deadline = next_byte + limit
    while opened and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=max(0.0, next_byte - time.monotonic())):
            readable: socket.socket = key.data
            try:
                data = readable.recv(4096)
            except OSError:
                data = b""
            if data:
                answered += 1
            cut_after.append(time.monotonic() - opened.pop(readable))
            selector.unregister(readable)
            readable.close()
        if time.monotonic() >= next_byte:
            for client in opened:
                with contextlib.suppress(OSError):  # the reader above sees it closed
                    client.send(header[sent : sent + 1])
            sent += 1
            next_byte += 1.0
    for client in opened:
        client.close()
    return SlowOutcome(cut_after, answered, len(opened))


def oversize_with_urllib(url: str, size: int) -> tuple[int | str, str, bytes]:
    """POST `size` bytes with urllib, which always sends `Connection: close`: status (or the error
    the client got instead), content type, body."""
    sent = urllib.request.Request(url, data=b"x" * size, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get("Content-Type", ""), refused.read()
    except (urllib.error.URLError, OSError) as broken:
        return type(getattr(broken, "reason", broken)).__name__, "", b""

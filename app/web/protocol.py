"""The HTTP/1.1 connection: uvicorn's httptools protocol, hardened against slow and oversized input.

What uvicorn alone does not bound, measured in the attack suite (`make attack`):
- the request head is counted as it arrives: past 16 KiB the parser is fed no more and the client
  gets a 431 (httptools buffers a header whole, however large, before any callback);
- a request head must be complete within TERRITORIALITE_HEADER_TIMEOUT_SECONDS of the connection,
  or of the previous answer;
- open connections stay under TERRITORIALITE_MAX_CONNECTIONS (and the descriptor limit): at the cap
  a new connection takes the place of the one that has waited longest for a request head, and is
  refused (closed, quietly) when every connection is busy with a request; connections to the probe
  port (TERRITORIALITE_PROBE_PORT, the orchestrator's) have a cap of their own, PROBE_CONNECTIONS_MAX,
  where a new one takes the place of the oldest: the main port's clients cannot keep the probes out,
  nor can connections to the probe port keep clients out (they can reset each other's probes: keep
  that port private);
- an answer the client does not read is dropped after TERRITORIALITE_WRITE_TIMEOUT_SECONDS;
- an answer sent before the whole body (a 413, a 408) is followed by reading and discarding up to
  TERRITORIALITE_DRAIN_BYTES of the rest before closing: closing with unread data sends a reset, and
  the client (urllib always asks for `Connection: close`) would lose the answer;
- a WebSocket upgrade attempt is answered as plain HTTP without a warning in the log.
Connection events are counted (territorialite_connections_closed_total) and logged at most once a
minute each, however many: a flood of them cannot flood the log.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import time
import weakref
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import httptools
import pydantic_core
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from app.contract.limits import DEFAULT_MAX_BODY_BYTES, MAX_HEADER_BYTES
from app.contract.problems import ProblemError
from app.settings import Settings
from app.web import metrics
from app.web.work import UNSENT_ANSWERS

logger = logging.getLogger("territorialite.connections")
NOTICE_INTERVAL_SECONDS = 60.0
# Descriptors the worker keeps for itself (log, geodata, the listening sockets, metrics files)
RESERVED_DESCRIPTORS = 64
# Connections to the probe port at once: an orchestrator opens one per probe and closes it
PROBE_CONNECTIONS_MAX = 32
HEAD_DRAIN_BYTES = 3 * MAX_HEADER_BYTES  # read after a refused head: 64 KiB in all


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    write_timeout: float
    max_connections: int
    drain_bytes: int
    drain_seconds: float
    probe_port: int | None = None
    unsent_counted: int = DEFAULT_MAX_BODY_BYTES  # an unread answer counts as one body at most (the body limit)

    @classmethod
    def of(cls, settings: Settings, descriptors: int) -> ConnectionLimits:
        return cls(
            header_timeout=settings.header_timeout_seconds,
            write_timeout=settings.write_timeout_seconds,
            max_connections=descriptor_bounds(settings.max_connections, descriptors)[0],
            drain_bytes=settings.drain_bytes,
            drain_seconds=settings.body_timeout_seconds,
            probe_port=settings.probe_port,
            unsent_counted=settings.max_body_bytes,
        )


@functools.cache
def limits() -> ConnectionLimits:
    """Read once per worker from the environment, as `territorialite serve` left it."""
    return ConnectionLimits.of(Settings.from_environ(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])


class Notices:
    """Counts connection events, and logs each kind at most once per interval, with the count since."""

    def __init__(self, interval: float = NOTICE_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.last_logged: dict[str, float] = {}
        self.unlogged: Counter[str] = Counter()

    def note(self, reason: str, message: str, level: int = logging.INFO) -> None:
        metrics.connections_closed(reason).inc()
        self.unlogged[reason] += 1
        now = time.monotonic()
        if now - self.last_logged.get(reason, -self.interval) >= self.interval:
            count = self.unlogged.pop(reason)
            self.last_logged[reason] = now
            logger.log(level, message, extra={"fields": {"reason": reason, "count": count}})


NOTICES = Notices()
# Connections of this worker waiting for a request head, oldest first, and since when (loop time):
# at the cap, the oldest is closed to make room, if it has waited EVICTABLE_AFTER_SECONDS.
WAITING_FOR_HEAD: dict[HardenedHttpToolsProtocol, float] = {}
EVICTABLE_AFTER_SECONDS = 0.25  # make attack, 21,000 slow heads: 1.0 s let 3-4 probes a run be refused, 0.25 s 0-1
# Connections of this worker to the probe port, oldest first; to the main port. Counted here, not in
# uvicorn's set of connections, where a closed one stays until the loop's next turn.
PROBE_CONNECTIONS: dict[HardenedHttpToolsProtocol, None] = {}
MAIN_CONNECTIONS: set[HardenedHttpToolsProtocol] = set()


def problem_bytes(kind: str, detail: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP answer for a refusal made before any request reached the application."""
    problem = ProblemError(kind, detail)
    body = pydantic_core.to_json(problem.body())
    head = [STATUS_LINE[problem.status]]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [
        b"content-type: application/problem+json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"cache-control: no-store\r\n",
        b"x-content-type-options: nosniff\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


class _CycleTransport(asyncio.Transport):
    """The transport as a request's cycle sees it: its close() after an early answer lets the
    protocol read the rest of the body first. The protocol holds the cycle: a weak reference back,
    or every connection would wait for the garbage collector's cycle search to be freed."""

    def __init__(self, protocol: HardenedHttpToolsProtocol) -> None:
        super().__init__()
        self._protocol = weakref.ref(protocol)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        protocol = self._protocol()
        if protocol is not None:
            protocol.transport.write(data)

    def is_closing(self) -> bool:
        protocol = self._protocol()
        return protocol is None or protocol.transport.is_closing()

    def close(self) -> None:
        protocol = self._protocol()
        if protocol is not None:
            protocol.close_after_answer()


def _say_close_when_answered_early(cycle: RequestResponseCycle) -> None:
    """An answer that starts before the whole body came says `Connection: close`: the connection
    closes once the rest is read (below), and a client told nothing would send its next request on
    it and see it dropped unanswered. (uvicorn reads the header to end the keep-alive itself.)"""
    send = cycle.send

    async def send_saying_close(message: Any) -> None:
        if message["type"] == "http.response.start" and cycle.more_body:
            headers = list(message.get("headers", []))
            if (b"connection", b"close") not in ((name.lower(), value.lower()) for name, value in headers):
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    cycle.send = send_saying_close  # type: ignore[method-assign]


class HardenedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits()
        self.refused = False
        self.head_room: int | None = None  # head bytes still allowed; None once the head is complete
        self.head_deadline: asyncio.TimerHandle | None = None
        self.write_deadline: asyncio.TimerHandle | None = None
        self.unsent = 0  # bytes of answers the kernel had not taken when writing paused
        self.unsent_counted = 0  # ... as admission counts them
        self.unanswered: deque[RequestResponseCycle] = deque()  # in request order, as answers go
        self.draining = False
        self.drain_deadline: asyncio.TimerHandle | None = None
        self.drain_room = 0
        self.drain_parsed = False  # discard through the parser (a body) or raw (a refused head)
        self.probing = False  # on the probe port: counted apart (PROBE_CONNECTIONS)

    # connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.probing = self._on_probe_port(transport)
        if self.probing:
            self._make_room_for_a_probe()
        elif len(MAIN_CONNECTIONS) >= self.limits.max_connections and not self._evict_longest_waiting():
            self.refused = True
            transport.abort()
            NOTICES.note("over_capacity", "connection refused: every connection is busy", logging.WARNING)
            return
        else:
            MAIN_CONNECTIONS.add(self)
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return
        PROBE_CONNECTIONS.pop(self, None)
        MAIN_CONNECTIONS.discard(self)
        self._stop_waiting_for_head()
        self._cancel_write_deadline()
        self._answers_taken()
        if self.drain_deadline is not None:  # its handle would keep this connection for seconds
            self.drain_deadline.cancel()
        self.unanswered.clear()
        super().connection_lost(exc)

    def _on_probe_port(self, transport: asyncio.Transport) -> bool:
        if self.limits.probe_port is None:
            return False
        local = transport.get_extra_info("sockname")
        return isinstance(local, tuple) and local[1] == self.limits.probe_port

    def _make_room_for_a_probe(self) -> None:
        """The probe port's own cap: the oldest connection to it makes room for the new one."""
        while len(PROBE_CONNECTIONS) >= PROBE_CONNECTIONS_MAX:
            oldest = next(iter(PROBE_CONNECTIONS))
            del PROBE_CONNECTIONS[oldest]
            oldest._stop_waiting_for_head()
            oldest.transport.abort()
            NOTICES.note("probe_evicted", "probe port connection closed to make room for a newer one")
        PROBE_CONNECTIONS[self] = None

    def _evict_longest_waiting(self) -> bool:
        """Closes the connection that has waited longest for a request head, if it has waited long
        enough not to be a client that just connected (a probe, say) and sends its head at once."""
        oldest = next(iter(WAITING_FOR_HEAD), None)
        if oldest is None or self.loop.time() - WAITING_FOR_HEAD[oldest] < EVICTABLE_AFTER_SECONDS:
            return False
        oldest._stop_waiting_for_head()
        MAIN_CONNECTIONS.discard(oldest)
        oldest.transport.abort()
        NOTICES.note("evicted", "connection closed to make room: it had not sent a request head")
        return True

    # the request head: bounded in size and in time
    def _await_head(self) -> None:
        self.head_room = MAX_HEADER_BYTES
        WAITING_FOR_HEAD.pop(self, None)
        if not self.probing:
            WAITING_FOR_HEAD[self] = self.loop.time()
        if self.head_deadline is not None:
            self.head_deadline.cancel()
        self.head_deadline = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _stop_waiting_for_head(self) -> None:
        WAITING_FOR_HEAD.pop(self, None)
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing() or self.head_room is None:
            return
        self._stop_waiting_for_head()
        if self.head_room < MAX_HEADER_BYTES:  # part of a head came: say why the connection closes
            detail = f"the request head must arrive within {self.limits.header_timeout:g} s"
            self.transport.write(problem_bytes("request-timeout", detail, self.server_state.default_headers))
        self.transport.close()
        NOTICES.note("header_timeout", "connection closed: no complete request head in time")

    def data_received(self, data: bytes) -> None:
        if self.draining:
            self._discard(data)
        elif self.head_room is None or len(data) <= self.head_room:
            if self.head_room is not None:
                self.head_room -= len(data)
            self._feed(data)
        else:  # the parser gets only what a head may hold; did the head end within it?
            allowed = self.head_room
            self._feed(data[:allowed])
            if self.transport.is_closing() or self.draining:
                return
            if self.head_room is not None:
                self._refuse_head()
                return
            self._feed(data[allowed:])

    def _feed(self, data: bytes) -> None:
        """uvicorn's data_received, without a warning per malformed request (a flood of them would
        flood the log) nor per upgrade attempt (no WebSocket here: answered as plain HTTP)."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            NOTICES.note("invalid_request", "request refused: not HTTP/1.1 as the parser reads it")
            self.send_400_response(str(error))
        except httptools.HttpParserUpgrade:
            pass

    def send_400_response(self, msg: str) -> None:
        """uvicorn's plain-text 400 for what the parser refuses, as problem+json like every refusal."""
        detail = f"the parser refused the request: {msg}" if msg else "the parser refused the request"
        self.transport.write(problem_bytes("malformed-http", detail, self.server_state.default_headers))
        self.transport.close()

    def _refuse_head(self) -> None:
        self._stop_waiting_for_head()
        detail = f"request headers must not exceed {MAX_HEADER_BYTES} bytes"
        self.transport.write(problem_bytes("headers-too-large", detail, self.server_state.default_headers))
        NOTICES.note("headers_too_large", "request refused: headers over the limit")
        self._drain_then_close(parsed=False)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.head_room is None:  # a pipelined request right after a body
            self.head_room = MAX_HEADER_BYTES

    def on_headers_complete(self) -> None:
        self.head_room = None
        self._stop_waiting_for_head()
        if self.draining:  # a request after the one being drained: never served
            return
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = _CycleTransport(self)
            _say_close_when_answered_early(self.cycle)
            self.unanswered.append(self.cycle)

    def on_message_complete(self) -> None:
        if self.draining and self.drain_parsed:
            self.transport.close()
            return
        super().on_message_complete()

    # after the answer
    def on_response_complete(self) -> None:
        answered = self.unanswered.popleft() if self.unanswered else None
        super().on_response_complete()
        if self.transport.is_closing() or answered is None:
            return
        if self.draining or answered.more_body:  # answered before its whole body came
            self._unset_keepalive_if_required()
            self._drain_then_close(parsed=True)
        elif not self.unanswered:  # no request after it yet: waiting for the next head
            self._await_head()

    def close_after_answer(self) -> None:
        """The cycle being answered closes the connection (Connection: close, HTTP/1.0)."""
        answering = self.unanswered[0] if self.unanswered else None
        if answering is not None and answering.more_body and not self.transport.is_closing():
            self._drain_then_close(parsed=True)
        else:
            self.transport.close()

    def _drain_then_close(self, parsed: bool) -> None:
        """Read and discard what the client is still sending, within bounds, then close."""
        if self.draining:
            return
        # after a refused head, a little: enough for a client that sends its head in pieces to see the 431
        room = self.limits.drain_bytes if parsed else HEAD_DRAIN_BYTES
        self.draining, self.drain_parsed, self.drain_room = True, parsed, room
        if self.drain_room <= 0:
            self.transport.close()
            return
        self.flow.resume_reading()
        self.drain_deadline = self.loop.call_later(self.limits.drain_seconds, self._drain_over)

    def _discard(self, data: bytes) -> None:
        self.drain_room -= len(data)
        if self.drain_parsed:
            self._feed(data)  # to see where the body ends; its bytes go nowhere
        if self.drain_room <= 0 and not self.transport.is_closing():
            self.transport.close()

    def _drain_over(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    # writing: an answer must keep draining to the client
    # and what waits in its buffer counts in the worker's bounded bytes (app.web.work) meanwhile
    def pause_writing(self) -> None:
        super().pause_writing()
        if self.write_deadline is None:
            self.write_deadline = self.loop.call_later(self.limits.write_timeout, self._write_timed_out)
        if not self.unsent:
            self.unsent = self.transport.get_write_buffer_size()
            # admission counts a body's worth at most: one slow reader leaves room for others' requests
            self.unsent_counted = min(self.unsent, self.limits.unsent_counted)
            UNSENT_ANSWERS.bytes += self.unsent
            UNSENT_ANSWERS.counted += self.unsent_counted

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_write_deadline()
        self._answers_taken()

    def _answers_taken(self) -> None:
        UNSENT_ANSWERS.bytes -= self.unsent
        UNSENT_ANSWERS.counted -= self.unsent_counted
        self.unsent = self.unsent_counted = 0

    def _cancel_write_deadline(self) -> None:
        if self.write_deadline is not None:
            self.write_deadline.cancel()
            self.write_deadline = None

    def _write_timed_out(self) -> None:
        self.write_deadline = None
        self.transport.abort()
        NOTICES.note("write_timeout", "connection dropped: the client stopped reading its answer")


# asyncio accepts up to the listen backlog in one turn of the loop, then sets each one up: the
# probes wait for the whole batch. Under 21,000 slow heads (make attack), probes on the probe port
# waited up to 941 ms with 2,048, 282 ms with 512, 115 ms with 128; 512 is also nginx's default.
LISTEN_BACKLOG = 512


def descriptor_bounds(max_connections: int, descriptors: int, backlog: int = LISTEN_BACKLOG) -> tuple[int, int]:
    """(connections, listen backlog) that fit in the process's descriptor limit. asyncio accepts up
    to `backlog` connections at once on each listener (the main port and the probe port) before any
    is refused or closed, so two batches must fit on top of the cap, as the probe port's connections do."""
    backlog = max(16, min(backlog, descriptors // 8))
    room = descriptors - 2 * backlog - RESERVED_DESCRIPTORS - PROBE_CONNECTIONS_MAX
    return max(1, min(max_connections, room)), backlog


ACCEPT_FAILED = "socket.accept() out of system resource"


def report_accept_failures_quietly(loop: asyncio.AbstractEventLoop) -> None:
    """Out of descriptors anyway (a limit below what the cap assumes, other files open), asyncio
    stops accepting on that listener for a second and reports it, with a traceback, once per failed
    accept: a flood of them would flood the log. They are counted and noted once a minute instead."""
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED:
            NOTICES.note("accept_failed", "connections not accepted for a second: out of descriptors", logging.WARNING)
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)

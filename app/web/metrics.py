"""Prometheus metrics. With several workers, prometheus_client's multiprocess mode aggregates them
(PROMETHEUS_MULTIPROC_DIR, set by `territorialite serve`)."""

from __future__ import annotations

import functools
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("territorialite_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "territorialite_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RANKING_SIZE = Histogram(
    "territorialite_ranking_physicians",
    "Physicians per ranking request",
    buckets=(1, 10, 50, 100, 500, 1000, 5000, 10000),
)
CONNECTIONS_CLOSED = Counter(
    "territorialite_connections_closed_total",
    "Connections the service closed or refused on its own: over capacity, evicted, timeouts, oversized heads",
    ["reason"],
)
# What a worker holds, against its limits (TERRITORIALITE_MAX_QUEUED_BYTES, _MAX_ANSWER_BYTES): with
# several workers, the largest of the live ones' (the limits are each worker's).
HELD = Gauge(
    "territorialite_held_bytes",
    "Bytes a worker holds: bodies of the requests it admitted (being received, waiting or computed), answers"
    " computed and not yet handed to their connection, answers written that their clients have not read",
    ["what"],
    multiprocess_mode="livemax",
)


def forget_this_worker() -> None:
    """With several workers, a worker that stops takes its report with it. (One killed outright
    leaves its last report among the others' until the service restarts: its supervisor, uvicorn's,
    does not tell prometheus_client.)"""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(os.getpid())


def record_held(bodies: int, answers: int, unread_answers: int) -> None:
    """Looked up at each report, once a second: a process that only imports this module (the
    supervisor of several workers) leaves no report of its own."""
    HELD.labels("bodies").set(bodies)
    HELD.labels("answers").set(answers)
    HELD.labels("unread_answers").set(unread_answers)


@functools.cache
def connections_closed(reason: str) -> Counter:
    """The counter of one reason, looked up once: a flood of connection events stays cheap."""
    return CONNECTIONS_CLOSED.labels(reason)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    _requests(method, route, status).inc()
    _latency(method, route).observe(seconds)


# A child per label set, looked up once (labels() takes a lock and builds its key at each call).
# Bounded: methods are those httptools parses, routes the application's own, statuses HTTP's.
@functools.lru_cache(maxsize=1024)
def _requests(method: str, route: str, status: int) -> Counter:
    return REQUESTS.labels(method, route, str(status))


@functools.lru_cache(maxsize=256)
def _latency(method: str, route: str) -> Histogram:
    return LATENCY.labels(method, route)


async def metrics_endpoint(request: Request) -> Response:
    request.app.state.service.work.report_held(record_held)  # this worker's, as of now
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

"""Prometheus metrics. With several workers, prometheus_client's multiprocess mode aggregates them
(PROMETHEUS_MULTIPROC_DIR, set by `territorialite serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import struct
from pathlib import Path

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
# What a worker counts against each of its limits, and the limit: a worker refuses a request with a
# 503 when the first passes TERRITORIALITE_MAX_QUEUED_BYTES, an answer when the second passes
# TERRITORIALITE_MAX_ANSWER_BYTES (app/web/work.py). With several workers, the largest of the live
# ones' (the limits are each worker's).
HELD = Gauge(
    "territorialite_held_bytes",
    "Bytes a worker counts against its limit: max_queued_bytes, the declared sizes of the bodies it admitted"
    " (the body limit when undeclared) and the answers it wrote that the kernel has not taken, each up to the"
    " body limit; max_answer_bytes, the answers computed and not yet handed to their connection and those not"
    " yet taken by the kernel",
    ["limit"],
    multiprocess_mode="livemax",
)
LIMIT = Gauge(
    "territorialite_limit_bytes",
    "A worker's limit (TERRITORIALITE_MAX_QUEUED_BYTES, TERRITORIALITE_MAX_ANSWER_BYTES): it refuses a request with"
    " a 503 when what it holds and the request's body, or the answer computed, would pass it",
    ["limit"],
    multiprocess_mode="livemax",
)
QUEUED, ANSWERS = "max_queued_bytes", "max_answer_bytes"


def record_held(queued: int, queued_limit: int, answers: int, answers_limit: int) -> None:
    """Looked up at each report, once a second: a process that only imports this module (the
    supervisor of several workers) leaves no report of its own."""
    HELD.labels(QUEUED).set(queued)
    HELD.labels(ANSWERS).set(answers)
    LIMIT.labels(QUEUED).set(queued_limit)
    LIMIT.labels(ANSWERS).set(answers_limit)


def forget_this_worker() -> None:
    """With several workers, a worker that stops takes its report with it."""
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        with contextlib.suppress(FileNotFoundError):  # another process may remove it meanwhile
            mark_process_dead(os.getpid(), directory)


def forget_workers_gone() -> None:
    """With several workers, the reports of workers that ended without a word (killed: their
    supervisor, uvicorn's, restarts them but does not tell prometheus_client), so that the largest
    is a live worker's."""
    if not (directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR")):
        return
    for report in Path(directory).glob("gauge_live*_*.db"):
        pid = report.stem.rsplit("_", 1)[1]
        if pid.isdecimal() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):  # two workers' scrapes may forget it at once
                mark_process_dead(int(pid), directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


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
        forget_workers_gone()
        return Response(await _every_workers_metrics(), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _every_workers_metrics(attempts: int = 5) -> bytes:
    """The workers' files merged. A worker that starts creates its file empty, then sizes it
    (prometheus_client's MmapedDict): read in between, it fails to unpack (struct.error), and a
    scrape while a worker (re)started was a 500. Read again a moment later."""
    for _ in range(attempts - 1):
        with contextlib.suppress(struct.error):
            return _merged()
        await asyncio.sleep(0.01)
    return _merged()


def _merged() -> bytes:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import settings

from app.geography import Geography, load_geography
from tests.live_server import LiveServer

# Timings belong in bench/, not in tests: no per-example deadline.
settings.register_profile("default", deadline=None, max_examples=200)
settings.load_profile("default")


@pytest.fixture(autouse=True)
def collector_as_it_was() -> Iterator[None]:
    """`territorialite audit` run in-process (app.cli.main) sets the process's garbage collector as
    a server worker's (app/runtime.py): this test process gets its own settings back after it."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.fixture(scope="session")
def geography() -> Geography:
    return load_geography()


@pytest.fixture(scope="session")
def server() -> Iterator[LiveServer]:
    live = LiveServer().start()
    yield live
    live.stop()
    # whatever the tests sent, the server never logged an error (an exception after a response
    # was sent shows only here, as a reset of the next request on that connection)
    errors = [line for line in live.logs().splitlines() if '"level": "error"' in line]
    assert errors == [], errors


@pytest.fixture(scope="session")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    # Idle pooled connections expire before the server's 5 s keep-alive closes them: reusing one
    # the server is closing at that very moment gets a reset (seen as a flaky ReadError).
    with httpx.Client(base_url=server.base_url, timeout=30, limits=httpx.Limits(keepalive_expiry=2)) as c:
        yield c

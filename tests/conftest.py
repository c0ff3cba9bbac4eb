from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import settings

from app.geography import Geography, load_geography
from tests.live_server import LiveServer

# Timings belong in bench/, not in tests: no per-example deadline.
settings.register_profile("default", deadline=None, max_examples=200)
settings.load_profile("default")


@pytest.fixture(scope="session")
def geography() -> Geography:
    return load_geography()


@pytest.fixture(scope="session")
def server() -> Iterator[LiveServer]:
    live = LiveServer().start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c

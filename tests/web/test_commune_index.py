"""The commune search's index, built in the background once a worker is ready (app/web/communes.py):
a real server is ready before its index is built, and a search that comes first waits for it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from app.contract import communes as commune_search
from app.geography import Geography
from app.geography.loader import DEFAULT_GEODATA_DIR
from app.geography.search import OLD_NAMES_FILE, CommuneIndex
from app.web.application import create_app
from app.web.communes import IndexBuiltInTheBackground, SearchIndexUnavailableError
from tests.live_server import LiveServer, free_port

SERVED_PROTOCOL = "app.web.protocol:HardenedHttpToolsProtocol"  # as `territorialite serve` runs it
AN_INDEX = cast(CommuneIndex, object())  # what the build returns is handed over untouched


def test_a_server_is_ready_before_its_search_index_and_a_first_search_waits_for_it() -> None:
    server = LiveServer()
    server.start()
    try:
        # the first thing asked once ready, as a booking screen's first keystroke would
        answer = httpx.get(server.base_url + "/v1/communes", params={"q": "lyon"}, timeout=30)
    finally:
        server.stop()
    assert answer.status_code == 200, answer.text
    assert answer.json()["communes"][0]["code"] == "69123"
    messages = [json.loads(line)["message"] for line in server.logs().splitlines() if line.startswith("{")]
    started = messages.index("Application startup complete.")
    built = next(i for i, m in enumerate(messages) if m.startswith("commune search index built in"))
    assert started < built, messages


def test_a_search_waits_for_the_index_and_one_given_up_does_not_stop_the_build() -> None:
    release = threading.Event()

    def slow_build() -> CommuneIndex:
        release.wait(10)
        return AN_INDEX

    async def searches() -> CommuneIndex:
        index = IndexBuiltInTheBackground(slow_build)
        given_up = asyncio.create_task(index.ready())
        await asyncio.sleep(0.05)
        assert not given_up.done()  # it waits
        given_up.cancel()  # its client left
        await asyncio.sleep(0)
        waiting = asyncio.create_task(index.ready())
        release.set()
        return await waiting

    assert asyncio.run(searches()) is AN_INDEX


def test_an_index_that_cannot_be_built_fails_each_search_with_an_error_of_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_build() -> CommuneIndex:
        raise OSError("unreadable")

    async def two_searches() -> list[SearchIndexUnavailableError]:
        index = IndexBuiltInTheBackground(broken_build)
        failures = []
        for _ in range(2):
            with pytest.raises(SearchIndexUnavailableError) as error:
                await index.ready()
            failures.append(error.value)
        assert index.failed
        assert not index.built
        return failures

    with caplog.at_level(logging.ERROR, logger="territorialite"):
        first, second = asyncio.run(two_searches())
    # a new error each time: re-raising one stored error added each request's frames to its traceback
    assert first is not second
    assert first.__context__ is None
    assert second.__context__ is None
    assert caplog.messages == ["the commune search's index could not be built: OSError: unreadable"]


def test_a_worker_whose_index_failed_is_not_ready_and_still_answers_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real uvicorn in this process, its build made to fail: /readyz 503 `failed`, a search an
    internal error, a bad search still its 422, the other operations answered."""

    def failing_builder(geography: object, geodata_dir: object) -> Callable[[], CommuneIndex]:
        def build() -> CommuneIndex:
            raise MemoryError

        return build

    monkeypatch.setattr(commune_search, "index_builder", failing_builder)
    with served(create_app()) as client:
        deadline = time.monotonic() + 10
        while (ready := client.get("/readyz")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        search = client.get("/v1/communes", params={"q": "lyon"})
        bad_search = client.get("/v1/communes", params={"limit": "0"})
        policies = client.get("/v1/policies")
    assert (ready.status_code, ready.json()["status"]) == (503, "failed")
    assert search.status_code == 500
    assert search.json()["type"] == "urn:territorialite:problem:internal-error"
    assert search.headers["connection"] == "close"  # the server closes it after an internal error
    assert bad_search.status_code == 422
    assert policies.status_code == 200


@contextlib.contextmanager
def served(app: Starlette) -> Iterator[httpx.Client]:
    """`app` on a real uvicorn, on loopback, in a thread of this process (so that a test can patch it)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=SERVED_PROTOCOL, loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)


def test_old_names_that_do_not_fit_the_geodata_stop_the_start(tmp_path: Path) -> None:
    """A file cut short (its last row without the commune it leads to) is found before readiness."""
    geodata = shutil.copytree(DEFAULT_GEODATA_DIR, tmp_path / "geodata")
    old_names = geodata / OLD_NAMES_FILE
    old_names.write_bytes(old_names.read_bytes()[:40_000])
    server = LiveServer(env={"TERRITORIALITE_GEODATA_DIR": str(geodata)})
    with pytest.raises(RuntimeError, match="server exited with 3"):
        server.start()
    assert "OldNamesError" in server.logs()


def test_a_search_whose_client_left_while_it_waited_is_a_499(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    build_for_real = commune_search.index_builder

    def slow_builder(geography: Geography, geodata_dir: Path) -> Callable[[], CommuneIndex]:
        build = build_for_real(geography, geodata_dir)

        def slow_build() -> CommuneIndex:
            release.wait(10)
            return build()

        return slow_build

    monkeypatch.setattr(commune_search, "index_builder", slow_builder)
    with caplog.at_level(logging.INFO, logger="territorialite.access"), served(create_app()) as client:
        port = client.base_url.port
        with socket.create_connection(("127.0.0.1", port)) as leaving:
            leaving.sendall(b"GET /v1/communes?q=lyon HTTP/1.1\r\nHost: x\r\nX-Request-ID: left-waiting\r\n\r\n")
            time.sleep(0.2)
        release.set()
        assert client.get("/v1/communes", params={"q": "lyon"}).json()["communes"][0]["code"] == "69123"
    lines = [getattr(record, "fields", {}) for record in caplog.records]
    statuses = [line["status"] for line in lines if line.get("request_id") == "left-waiting"]
    assert statuses == [499]

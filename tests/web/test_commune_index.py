"""The commune search's index, built in the background once a worker is ready (app/web/communes.py):
a real server is ready before its index is built, and a search that comes first waits for it."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import cast

import httpx
import pytest

from app.geography.search import CommuneIndex
from app.web.communes import IndexBuiltInTheBackground
from tests.live_server import LiveServer

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


def test_an_index_that_cannot_be_built_fails_each_search_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken_build() -> CommuneIndex:
        raise OSError("unreadable")

    async def two_searches() -> list[str]:
        index = IndexBuiltInTheBackground(broken_build)
        failures = []
        for _ in range(2):
            with pytest.raises(OSError, match="unreadable") as error:
                await index.ready()
            failures.append(str(error.value))
        return failures

    with caplog.at_level(logging.ERROR, logger="territorialite"):
        assert asyncio.run(two_searches()) == ["unreadable", "unreadable"]
    assert caplog.messages == ["the commune search's index could not be built: OSError"]

"""GET /v1/communes: the handler, and the search's index, built in the background once a worker is
ready; the rules of the search are the contract's (app/contract/communes.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from starlette.requests import Request
from starlette.responses import Response

from app.contract import communes
from app.web.endpoints import json_response, service_of
from app.web.requests import ensure_connected
from app.web.work import release_memory

logger = logging.getLogger("territorialite")


class SearchIndexUnavailableError(Exception):
    """The commune search's index could not be built (logged once, when it failed): a defect, each
    search then an internal error, and the worker no longer ready."""


class IndexBuiltInTheBackground:
    """The commune search's index, built on a thread of its own as soon as the engine's reference is
    loaded: a worker is ready without waiting for it (a fifth of its start, about 0.2 s on one core),
    its rankings, scenarios and audits are answered meanwhile, and a search that comes before the
    index is built waits for it. `build`'s input is read and checked before (app.contract.communes:
    a missing or wrong file stops a start), so that a build that fails is a defect: the worker then
    says it is not ready (/readyz 503), and answers each search with an internal error."""

    def __init__(self, build: Callable[[], communes.CommuneIndex]) -> None:
        self._index: communes.CommuneIndex | None = None
        self._done: Future[None] = Future()  # set once the build ended, well or not
        self._done.set_running_or_notify_cancel()  # running: a waiting request cancelled cannot cancel it
        # a daemon: a worker stopping at once does not wait for a search index it will never use
        threading.Thread(target=self._build, args=(build,), name="territorialite-commune-index", daemon=True).start()

    def _build(self, build: Callable[[], communes.CommuneIndex]) -> None:
        started = time.perf_counter()
        try:
            self._index = build()
            logger.info("commune search index built in %.2f s", time.perf_counter() - started)
        except Exception as error:  # kept only as this line: a search raises an error of its own
            logger.error("the commune search's index could not be built: %s: %s", type(error).__name__, error)
        finally:
            release_memory()  # the build's temporaries, in this thread's own arena: given back now
            self._done.set_result(None)

    @property
    def built(self) -> bool:
        return self._index is not None

    @property
    def failed(self) -> bool:
        return self._done.done() and self._index is None

    async def ready(self) -> communes.CommuneIndex:
        """The index, once built; SearchIndexUnavailableError, a new one each time, if it failed."""
        if not self._done.done():
            await asyncio.wrap_future(self._done)
        if self._index is None:
            raise SearchIndexUnavailableError
        return self._index


async def search_communes(request: Request) -> Response:
    asked = communes.parse_search(request.query_params.multi_items())  # a bad request need not wait
    search_index = service_of(request).communes
    waited = not search_index.built
    index = await search_index.ready()
    if waited:
        await ensure_connected(request)  # its client may have left meanwhile: a 499, not a search
    return json_response(communes.answer(index, asked))

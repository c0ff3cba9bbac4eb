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

logger = logging.getLogger("territorialite")


class IndexBuiltInTheBackground:
    """The commune search's index, built on a thread of its own as soon as the engine's reference is
    loaded: a worker is ready without waiting for it (a fifth of its start, about 0.2 s on one core),
    its rankings, scenarios and audits are answered meanwhile, and a search that comes before the
    index is built waits for it. (`build`'s inputs are read before: a missing file stops a start.)"""

    def __init__(self, build: Callable[[], communes.CommuneIndex]) -> None:
        self._index: Future[communes.CommuneIndex] = Future()
        self._index.set_running_or_notify_cancel()  # running: a waiting request cancelled cannot cancel it
        # a daemon: a worker stopping at once does not wait for a search index it will never use
        threading.Thread(target=self._build, args=(build,), name="territorialite-commune-index", daemon=True).start()

    def _build(self, build: Callable[[], communes.CommuneIndex]) -> None:
        started = time.perf_counter()
        try:
            index = build()
        except BaseException as error:  # each search then fails as an unexpected error, logged
            logger.error("the commune search's index could not be built: %s", type(error).__name__)
            self._index.set_exception(error)
            return
        logger.info("commune search index built in %.2f s", time.perf_counter() - started)
        self._index.set_result(index)

    async def ready(self) -> communes.CommuneIndex:
        if not self._index.done():
            await asyncio.wrap_future(self._index)
        return self._index.result()


async def search_communes(request: Request) -> Response:
    index = await service_of(request).communes.ready()
    return json_response(communes.search(index, request.query_params.multi_items()))

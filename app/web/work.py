"""The operations run off the event loop, and a worker holds a bounded amount of them.

The event loop reads requests and writes answers, so that probes and small requests are answered
while a 2 MB audit is being judged: parsing, judging and serialising a body over
TERRITORIALITE_INLINE_BODY_BYTES (8 KiB: a few milliseconds of work at most) run on
TERRITORIALITE_COMPUTE_THREADS threads, one by default; smaller ones on the loop itself, where a
thread hop would cost more than they do (15 % of the throughput of 100-physician rankings). The loop
thread then waits for the GIL one switch interval (5 ms) at a time, and at most as long as the
longest C call that holds it (pydantic-core parsing 2 MB: about 150 ms). Measured in `make attack`.

Admission: each request holds its declared body size (the whole limit when undeclared) from the
moment it is accepted to its answer; past TERRITORIALITE_MAX_QUEUED_BYTES in all, a request is
refused at once with a 503 and Retry-After, before its body is read, instead of waiting in a queue
without end. The answers clients have not read yet count too (UNSENT_ANSWERS: what the kernel has
not taken of them, app.web.protocol), each as one body at most, so that one slow reader leaves room
for others' requests: twenty clients leaving 15 MB answers unread took a worker to 372 MiB. And the
answers it holds at once, computed or unread, within TERRITORIALITE_MAX_ANSWER_BYTES (`answer_held`).
Memory is thereby bounded too: bodies being received, waiting and computed, answers waiting to be
written.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.contract.problems import ProblemError
from app.runtime import libc_function

T = TypeVar("T")
RETRY_AFTER_SECONDS = 1
RELEASE_EVERY_SECONDS = 5.0
CLOSE = {"Connection": "close"}  # the answer comes before the body: read the rest, then close
logger = logging.getLogger("territorialite")


class UnsentAnswers:
    """The answers a worker has written that its clients have not read yet: their bytes in all, and
    as admission counts them (each as one body at most)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.counted = 0


UNSENT_ANSWERS = UnsentAnswers()


class Work:
    def __init__(self, max_queued_bytes: int, threads: int, max_answer_bytes: int) -> None:
        self.capacity = max_queued_bytes
        self.held = 0
        self.answer_capacity = max_answer_bytes
        self.answers = 0  # bytes of answers computed and not yet handed to the connection
        self.threads = asyncio.Semaphore(threads)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="territorialite-compute")

    @contextlib.contextmanager
    def admitted(self, size: int) -> Iterator[None]:
        """Holds `size` bytes of the worker's capacity for one request, or refuses it now."""
        if self.held + UNSENT_ANSWERS.counted + size > self.capacity:
            raise ProblemError(
                "service-busy",
                f"this worker holds as much work as it accepts; retry in {RETRY_AFTER_SECONDS} s",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), **CLOSE},
            )
        self.held += size
        try:
            yield
        finally:
            self.held -= size

    def answer_held(self, size: int) -> Callable[[], None]:
        """Holds an answer of `size` bytes until it is handed to its connection (the release
        returned), or refuses it with a 503 when, with the answers computed or written and not yet
        read, it would pass TERRITORIALITE_MAX_ANSWER_BYTES: a worker holds one answer of that size
        at most. An answer's size is known only once it is computed: requests admitted together
        by their small bodies made answers of 16 MB each, 551 MiB at once (a reviewer's run)."""
        waiting = self.answers + UNSENT_ANSWERS.bytes
        if waiting and waiting + size > self.answer_capacity:
            raise ProblemError(
                "service-busy",
                f"this worker holds as many answers as it sends at once; retry in {RETRY_AFTER_SECONDS} s",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.answers += size

        def release() -> None:
            self.answers -= size

        return release

    async def run(self, function: Callable[[], T], after_waiting: Callable[[], Awaitable[None]]) -> T:
        """`function` on a compute thread, in turn. When its turn had to be waited for, `after_waiting`
        runs first: it raises if the client has left meanwhile, and the work is skipped."""
        waited = self.threads.locked()
        async with self.threads:
            if waited:
                await after_waiting()
            return await asyncio.get_running_loop().run_in_executor(self.executor, function)

    async def keep_memory_returned(self, every: float = RELEASE_EVERY_SECONDS) -> None:
        """Gives freed memory back to the system every few seconds, on the compute thread: after a
        big request, a flood of connections or of early answers, the worker shrinks again."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            await loop.run_in_executor(self.executor, release_memory)

    async def keep_held_reported(self, report: Callable[[int, int, int, int], None], every: float = 1.0) -> None:
        """Reports what this worker counts against its limits every `every` seconds."""
        while True:
            self.report_held(report)
            await asyncio.sleep(every)

    def report_held(self, report: Callable[[int, int, int, int], None]) -> None:
        """What `admitted` and `answer_held` compare with their limits, and the limits."""
        queued, answers = self.held + UNSENT_ANSWERS.counted, self.answers + UNSENT_ANSWERS.bytes
        report(queued, self.capacity, answers, self.answer_capacity)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


MALLOC_TRIM = libc_function("malloc_trim")  # glibc's; None elsewhere
MALLOPT = libc_function("mallopt")
M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MAPPED_FROM_BYTES = 512 * 1024


def keep_big_buffers_mapped() -> None:
    """Each allocation of 512 KiB or more (a body, an answer, the buffers reading or writing them)
    gets pages of its own, given back to the system when it is freed. glibc serves an allocation from
    its heap below a threshold that rises to the size of each such block freed: after the first 2 MB
    body, bodies, answers and their buffers came from the heap, whose pages the fragments of requests
    in flight kept. Measured (README, Performance): three clients sending 2 MB FHIR Bundles or 2 MB
    audits to one worker peak 3 to 6 MiB lower; the cost is fresh pages for each big block (page
    faults, system time): big requests about 6 % slower served, 2 MB bodies refused at once (a 400)
    about 45 % more CPU each. An operator's own threshold (MALLOC_MMAP_THRESHOLD_, or
    glibc.malloc.mmap_threshold in GLIBC_TUNABLES) is left as it is."""
    if MALLOPT is not None and not operator_threshold(os.environ):
        MALLOPT(M_MMAP_THRESHOLD, MAPPED_FROM_BYTES)


def operator_threshold(environ: Mapping[str, str]) -> bool:
    """Whether glibc was given a threshold of its own at start (the tunables: name=value, colon-separated)."""
    tunables = {item.partition("=")[0] for item in environ.get("GLIBC_TUNABLES", "").split(":")}
    return "MALLOC_MMAP_THRESHOLD_" in environ or "glibc.malloc.mmap_threshold" in tunables


def release_memory() -> None:
    """Python frees a request's objects at once (cycles aside: collected here), but glibc keeps the
    freed pages for reuse in its arenas (one per thread): malloc_trim gives them back to the system.
    About 1 to 5 ms; measured in `make attack` (memory 10 s after each attack)."""
    gc.collect()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)

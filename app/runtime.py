"""The garbage collector as a long-running process of the service sets it: each server worker, and
the audit command, which judge many short-lived objects against a few hundred thousand that last.
And a worker of several stopping with the process that started them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import os
import signal
from collections.abc import Callable, Iterator

# A request or a batch of sessions makes thousands of short-lived objects that reference counting
# frees: collect the young generation less often than Python's 700, but not so seldom that one
# collection stalls every request in flight: 100-physician rankings, 32 connections, one core, two
# runs each, gen-0 pauses up to 2 ms at 5,000 against up to 26 ms at 50,000; throughput and p99 the
# same within the runs' spread (1,197-1,261 req/s, p99 35-43 ms).
COLLECTOR_THRESHOLDS = (5_000, 20, 100)


@contextlib.contextmanager
def loading_what_lasts() -> Iterator[None]:
    """Load the geodata and the rulings inside: no collection meanwhile (loading makes a few hundred
    thousand objects that all last: collections would free nothing and cost a fifth of the start,
    0.90 -> 0.69 s on one core), then what was loaded is frozen out of the collector, so that no
    full collection walks it again, and the young generation is collected as COLLECTOR_THRESHOLDS
    says. Frozen without a collection first: one, after a worker's imports and loading, took 43 to
    85 ms of a start of about a second and found nothing to free in a worker of one (a few objects,
    kilobytes, elsewhere: the audit command's argument parsers). Process-wide: for the server's
    workers and the audit command (`territorialite audit`, app.cli's `audit`), not for a library
    caller of app.conformance.audit_file."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


SUPERVISOR_PID_VARIABLE = "TERRITORIALITE_SUPERVISOR_PID"  # set by `serve` for its workers; not a setting
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stop_with_supervisor() -> None:
    """In a worker started by `serve`'s supervisor (several workers): SIGTERM, and so a graceful stop,
    when the supervisor is gone, even killed outright (Linux's PR_SET_PDEATHSIG). Otherwise its
    workers went on answering on the port they inherited, orphans that a restarted service could not
    listen beside. Elsewhere (one worker, or not Linux), nothing."""
    supervisor = os.environ.get(SUPERVISOR_PID_VARIABLE, "")
    if not supervisor.isdigit() or int(supervisor) == os.getpid():
        return
    prctl = libc_function("prctl")
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(supervisor):  # gone before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def libc_function(name: str) -> Callable[..., int] | None:
    """A function of the C library (glibc's malloc_trim, Linux's prctl), or None where it has none."""
    library = _c_library()
    try:
        return getattr(library, name) if library is not None else None
    except AttributeError:  # another C library
        return None


@functools.cache
def _c_library() -> ctypes.CDLL | None:
    """Found and opened once: each search runs a compiler or ldconfig (1 to 3 ms), and each handle
    left garbage that a worker froze at its start."""
    path = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(path) if path else None
    except OSError:  # none found
        return None

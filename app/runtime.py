"""The garbage collector as a long-running process of the service sets it: each server worker, and
the audit command, which judge many short-lived objects against a few hundred thousand that last.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

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
    says. Process-wide: for the server's workers and the audit command (`territorialite audit`,
    app.cli's `audit`), not for a library caller of app.conformance.audit_file."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)

"""Soak: 60 s at saturation on loopback (POST /v1/rankings, 100 physicians, 32 connections).
Reports errors, latency percentiles and the worker's resident memory every 10 s.
Run: .venv/bin/python -m bench.soak [seconds]"""

from __future__ import annotations

import sys
import threading
import time

from bench.__main__ import ranking_body
from bench.load import wrk_post
from bench.servers import rss_mb, service


def main(seconds: int = 60) -> None:
    body = ranking_body(100)
    with service() as (url, pid, _):
        wrk_post(url + "/v1/rankings", body, seconds=3)  # warm-up
        samples: list[tuple[float, float]] = [(0.0, rss_mb(pid))]
        result: dict[str, float] = {}
        load = threading.Thread(target=lambda: result.update(wrk_post(url + "/v1/rankings", body, seconds)))
        started = time.monotonic()
        load.start()
        while load.is_alive():
            load.join(10)
            samples.append((time.monotonic() - started, rss_mb(pid)))
    print(f"soak: {seconds} s at saturation, 32 connections, POST /v1/rankings with 100 physicians")
    print(f"  requests {result['requests']:.0f} ({result['rps']:.0f}/s), socket errors {result['socket_errors']}, "
          f"non-2xx {result['non_2xx']}")  # fmt: skip
    print(f"  latency p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
          f"max {result['max_ms']:.1f} ms")  # fmt: skip
    print("  resident memory (s: MiB): " + ", ".join(f"{t:.0f}: {mb:.1f}" for t, mb in samples))
    growth = samples[-1][1] - samples[1][1] if len(samples) > 2 else 0.0
    print(f"  growth from 10 s to the end: {growth:+.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)

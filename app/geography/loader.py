"""Reads geodata/ once, at start-up. File formats are described in geodata/README.md."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import shapely

from app import resources
from app.geography.locator import CommunePoints, PointLocator
from app.geography.model import Commune, Departement, Point, PostalCode, Region
from app.geography.resolver import Geography, SearchRadius

DEFAULT_GEODATA_DIR = resources.data_path("geodata")


class _OneCopy(dict[str, str]):
    """Each distinct text kept once: the communes name a hundred départements, a few point sources,
    and the postal codes that the postal code table names again. One copy of each instead of one per
    row: the geography 10 MB smaller in memory (64.5 against 74.7 MB, geography alone), for 13 ms.
    Not sys.intern: its table of every interned text lasts as long as the process; this one goes
    with the loading."""

    def __call__(self, text: str) -> str:
        return self.setdefault(text, text)


def load_geography(directory: Path = DEFAULT_GEODATA_DIR) -> Geography:
    one_copy = _OneCopy()
    communes = {c.code: c for c in _read_communes(directory / "communes.csv", one_copy)}
    one_copy.update((code, code) for code in communes)
    aliases = {row["old_code"]: row["current_code"] for row in _rows(directory / "commune_aliases.csv")}
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return Geography(
        communes=communes,
        aliases=aliases,
        postal_codes={p.code: p for p in _read_postal_codes(directory / "postal_codes.csv", one_copy)},
        departements={d.code: d for d in _read_departements(directory / "departements.csv")},
        regions={r["code"]: Region(r["code"], r["name"]) for r in _rows(directory / "regions.csv")},
        adjacency=_read_adjacency(directory / "departements_adjacency.json"),
        search_radii=_read_search_radii(directory / "sas_search_radii.csv"),
        locator=PointLocator(
            _read_land(directory / "france_land.geojson"),
            _read_land(directory / "foreign_land.geojson"),
            _commune_points(communes),
        ),
        vintage=manifest["vintage"],
    )


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _columns(path: Path) -> tuple[dict[str, int], Iterator[list[str]]]:
    """A CSV file's column positions by name, and its rows as lists: a third of the time of
    csv.DictReader on communes.csv, read at every start-up."""
    handle = path.open(encoding="utf-8", newline="")
    reader = csv.reader(handle)
    header = next(reader)

    def rows() -> Iterator[list[str]]:
        with handle:
            yield from reader

    return {name: i for i, name in enumerate(header)}, rows()


def _read_communes(path: Path, one_copy: _OneCopy) -> Iterator[Commune]:
    column, rows = _columns(path)
    code, name, departement, region = column["code"], column["name"], column["departement"], column["region"]
    postal_codes, population, lat, lon = column["postal_codes"], column["population"], column["lat"], column["lon"]
    point_source, parent = column["point_source"], column["parent"]
    for row in rows:
        yield Commune(
            code=row[code],
            name=row[name],
            departement=one_copy(row[departement]),
            region=one_copy(row[region]) or None,
            postal_codes=tuple(map(one_copy, row[postal_codes].split())),
            population=int(row[population]),
            point=Point(float(row[lat]), float(row[lon])) if row[lat] else None,
            point_source=one_copy(row[point_source]),
            parent=row[parent] or None,
        )


def _read_postal_codes(path: Path, one_copy: _OneCopy) -> Iterator[PostalCode]:
    column, rows = _columns(path)
    code, communes, departements = column["postal_code"], column["communes"], column["departements"]
    lat, lon = column["lat"], column["lon"]
    for row in rows:
        yield PostalCode(
            one_copy(row[code]),
            tuple(map(one_copy, row[communes].split())),
            tuple(map(one_copy, row[departements].split())),
            Point(float(row[lat]), float(row[lon])),
        )


def _read_departements(path: Path) -> Iterator[Departement]:
    for row in _rows(path):
        yield Departement(row["code"], row["name"], row["region"] or None, row["zone"])


def _read_land(path: Path) -> shapely.Geometry:
    """The land of a one-feature GeoJSON file, read by GEOS (shapely's `shape` is 10x slower)."""
    (land,) = shapely.get_parts(shapely.from_geojson(path.read_text(encoding="utf-8")))
    return land


def _read_adjacency(path: Path) -> dict[str, frozenset[str]]:
    table = json.loads(path.read_text(encoding="utf-8"))
    return {code: frozenset(neighbours) for code, neighbours in table.items()}


def _read_search_radii(path: Path) -> dict[str, SearchRadius]:
    return {
        row["departement"]: SearchRadius(float(row["default_radius_km"]), float(row["enlargement_km"]))
        for row in _rows(path)
    }


def _commune_points(communes: dict[str, Commune]) -> CommunePoints:
    """Points a coordinate can fall in: communes and arrondissements, not the PLM cities themselves."""
    cities = {c.parent for c in communes.values() if c.parent}
    placed = [(c, c.point) for c in communes.values() if c.point is not None and c.code not in cities]
    return CommunePoints(
        codes=tuple(c.parent or c.code for c, _ in placed),
        departements=tuple(c.departement for c, _ in placed),
        lats=np.array([point.lat for _, point in placed]),
        lons=np.array([point.lon for _, point in placed]),
    )

"""Point -> département: contours decide inland, commune points decide near borders.

Natural Earth contours are generalised (about 230 vertices a département): inland they are right,
but within a few km of a border or a coast they misplace points. There the nearest commune point
(from the COG, placed by GeoNames) is the better witness. tools/measure_geodata.py measures both
methods and this hybrid; geodata/README.md gives the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from app.geography.distance import geodesic_km
from app.geography.model import Point, PointLocation, PointPlacement

KM_PER_DEGREE = 111.32
BORDER_ZONE_KM = 5.0  # closer than this to another département's contour: ask the communes
OFFSHORE_LIMIT_KM = 20.0  # at sea, farther than this from every contour: outside France
FOREIGN_MARGIN_KM = 1.5  # on foreign land, farther than this from every French contour: abroad


@dataclass(frozen=True, slots=True)
class CommunePoints:
    """Points of the communes a coordinate can fall in, as parallel arrays."""

    codes: tuple[str, ...]  # the commune a point in it belongs to (the city for an arrondissement)
    departements: tuple[str, ...]
    lats: NDArray[np.float64]
    lons: NDArray[np.float64]


class PointLocator:
    def __init__(
        self, contours: dict[str, shapely.Geometry], foreign_land: shapely.Geometry, communes: CommunePoints
    ) -> None:
        self._foreign_land = foreign_land
        shapely.prepare(foreign_land)
        self._contour_codes = tuple(contours)
        self._contours = shapely.STRtree(list(contours.values()))
        for geometry in contours.values():
            shapely.prepare(geometry)
        self._communes = communes
        self._commune_tree = shapely.STRtree(shapely.points(communes.lons, communes.lats))

    def locate(self, point: Point) -> PointLocation:
        """The département a point lies in, with the nearest commune, or 'outside France'."""
        return self.locate_without(point, excluded_commune=None)

    def locate_without(self, point: Point, excluded_commune: int | None) -> PointLocation:
        """`locate`, as if one commune point were missing: for leave-one-out measurement."""
        here = shapely.Point(point.lon, point.lat)
        inside = self.departement_containing(here)
        if inside is None and self.is_abroad(here, point.lat):
            return PointLocation(None, None, PointPlacement.OUTSIDE_FRANCE)
        nearby = self.departements_within(here, point.lat, BORDER_ZONE_KM)
        if not nearby:
            return self._offshore(here, point, excluded_commune)
        commune = self.nearest_commune(point, exclude=excluded_commune)
        if inside is not None and nearby == {inside}:
            return PointLocation(inside, self._commune_if_in(commune, inside), PointPlacement.INSIDE_CONTOUR)
        if commune is not None and self._communes.departements[commune] in nearby:
            return PointLocation(
                self._communes.departements[commune], self._communes.codes[commune], PointPlacement.NEAREST_COMMUNE
            )
        if inside is not None:
            return PointLocation(inside, self._commune_if_in(commune, inside), PointPlacement.INSIDE_CONTOUR)
        return self._offshore(here, point, excluded_commune)

    def is_abroad(self, here: shapely.Point, lat: float) -> bool:
        """On a neighbouring country's land, clear of the margin of error of French contours."""
        return self._foreign_land.intersects(here) and not self.departements_within(here, lat, FOREIGN_MARGIN_KM)

    def departement_containing(self, here: shapely.Point) -> str | None:
        hits = self._contours.query(here, predicate="intersects")
        return self._contour_codes[int(min(hits))] if len(hits) else None

    def departements_within(self, here: shapely.Point, lat: float, km: float) -> set[str]:
        degrees = km / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
        return {self._contour_codes[int(i)] for i in self._contours.query(here, predicate="dwithin", distance=degrees)}

    def nearest_commune(self, point: Point, exclude: int | None = None) -> int | None:
        """Index of the commune point nearest to `point` on the ellipsoid."""
        here = shapely.Point(point.lon, point.lat)
        index, degrees = self._commune_tree.query_nearest(here, return_distance=True, exclusive=exclude is not None)
        if not len(index):
            return None
        # Degree space stretches longitudes: anything truly nearer lies within this widened radius.
        radius = float(degrees[0]) / max(math.cos(math.radians(point.lat)), 0.01) * 1.01 + 1e-9
        candidates = self._commune_tree.query(here, predicate="dwithin", distance=radius)
        if exclude is not None:
            candidates = candidates[candidates != exclude]
        if not len(candidates):
            return int(index[0])
        km = geodesic_km(point.lat, point.lon, self._communes.lats[candidates], self._communes.lons[candidates])
        return int(candidates[int(np.argmin(km))])

    @property
    def communes(self) -> CommunePoints:
        return self._communes

    def _commune_if_in(self, commune: int | None, departement: str) -> str | None:
        if commune is not None and self._communes.departements[commune] == departement:
            return self._communes.codes[commune]
        return None

    def _offshore(self, here: shapely.Point, point: Point, excluded_commune: int | None) -> PointLocation:
        within = self.departements_within(here, point.lat, OFFSHORE_LIMIT_KM)
        commune = self.nearest_commune(point, exclude=excluded_commune) if within else None
        if commune is not None and self._communes.departements[commune] in within:
            return PointLocation(
                self._communes.departements[commune], self._communes.codes[commune], PointPlacement.NEAR_COAST
            )
        return PointLocation(None, None, PointPlacement.OUTSIDE_FRANCE)

"""Point -> département: contours decide inland, commune points decide near borders.

Natural Earth contours are generalised (about 230 vertices a département): inland they are right,
but within a few km of a border or a coast they misplace points. There the nearest commune point
(from the COG, placed by GeoNames) is the better witness. tools/measure_geodata.py measures both
methods and this hybrid; geodata/README.md gives the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
        offshore = frozenset(self.departements_within(here, point.lat, OFFSHORE_LIMIT_KM))
        surroundings = _Surroundings(
            inside=self.departement_containing(here),
            on_foreign_land=bool(self._foreign_land.intersects(here)),
            within_margin=frozenset(self.departements_within(here, point.lat, FOREIGN_MARGIN_KM)),
            nearby=frozenset(self.departements_within(here, point.lat, BORDER_ZONE_KM)),
            offshore=offshore,
            # far from France the answer is "outside" whatever the nearest commune: not searched
            commune=self.nearest_commune(point, exclude=excluded_commune) if offshore else None,
        )
        return self._decide(surroundings)

    def locate_many(self, points: Sequence[Point]) -> list[PointLocation]:
        """`locate` for many points at once: the same rule, with the geometry queries vectorised."""
        if not points:
            return []
        lats = np.array([p.lat for p in points])
        lons = np.array([p.lon for p in points])
        here = shapely.points(lons, lats)
        count = len(points)
        km_per_degree = KM_PER_DEGREE * np.maximum(np.cos(np.radians(lats)), 0.01)
        inside = _first_per_point(self._contours.query(here, predicate="intersects"), count)
        foreign = shapely.intersects(self._foreign_land, here)
        within = {
            km: self._codes_per_point(here, km / km_per_degree, count)
            for km in (FOREIGN_MARGIN_KM, BORDER_ZONE_KM, OFFSHORE_LIMIT_KM)
        }
        near_france = np.array([bool(codes) for codes in within[OFFSHORE_LIMIT_KM]])
        communes = np.full(count, -1, dtype=np.intp)
        communes[near_france] = self._nearest_communes(here[near_france], lats[near_france], lons[near_france])
        return [
            self._decide(
                _Surroundings(
                    inside=self._contour_codes[inside[i]] if inside[i] >= 0 else None,
                    on_foreign_land=bool(foreign[i]),
                    within_margin=within[FOREIGN_MARGIN_KM][i],
                    nearby=within[BORDER_ZONE_KM][i],
                    offshore=within[OFFSHORE_LIMIT_KM][i],
                    commune=int(communes[i]) if communes[i] >= 0 else None,
                )
            )
            for i in range(count)
        ]

    def _decide(self, s: _Surroundings) -> PointLocation:
        """The rule itself, on what surrounds a point (see the module's docstring)."""
        if s.inside is None and s.on_foreign_land and not s.within_margin:
            return PointLocation(None, None, PointPlacement.OUTSIDE_FRANCE)
        commune_departement = self._communes.departements[s.commune] if s.commune is not None else None
        if s.nearby:
            if s.inside is not None and s.nearby == {s.inside}:
                return PointLocation(s.inside, self._commune_if_in(s.commune, s.inside), PointPlacement.INSIDE_CONTOUR)
            if commune_departement in s.nearby:
                return PointLocation(commune_departement, self._commune_code(s.commune), PointPlacement.NEAREST_COMMUNE)
            if s.inside is not None:
                return PointLocation(s.inside, self._commune_if_in(s.commune, s.inside), PointPlacement.INSIDE_CONTOUR)
        if commune_departement in s.offshore:  # just off a generalised coastline
            return PointLocation(commune_departement, self._commune_code(s.commune), PointPlacement.NEAR_COAST)
        return PointLocation(None, None, PointPlacement.OUTSIDE_FRANCE)

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

    def _commune_code(self, commune: int | None) -> str | None:
        return self._communes.codes[commune] if commune is not None else None

    def _codes_per_point(
        self, here: NDArray[np.object_], degrees: NDArray[np.float64], count: int
    ) -> list[frozenset[str]]:
        points, contours = self._contours.query(here, predicate="dwithin", distance=degrees)
        groups: list[set[str]] = [set() for _ in range(count)]
        for point, contour in zip(points.tolist(), contours.tolist(), strict=True):
            groups[point].add(self._contour_codes[contour])
        return [frozenset(group) for group in groups]

    def _nearest_communes(
        self, here: NDArray[np.object_], lats: NDArray[np.float64], lons: NDArray[np.float64]
    ) -> NDArray[np.intp]:
        """Index of the nearest commune point of each point (-1: none), as `nearest_commune` finds it."""
        if not len(here):
            return np.empty(0, dtype=np.intp)
        (points, _), degrees = self._commune_tree.query_nearest(here, return_distance=True)
        first = np.unique(points, return_index=True)[1]
        nearest_degrees = np.full(len(lats), np.nan)
        nearest_degrees[points[first]] = degrees[first]
        radius = nearest_degrees / np.maximum(np.cos(np.radians(lats)), 0.01) * 1.01 + 1e-9
        points, candidates = self._commune_tree.query(here, predicate="dwithin", distance=np.nan_to_num(radius))
        km = geodesic_km(lats[points], lons[points], self._communes.lats[candidates], self._communes.lons[candidates])
        order = np.lexsort((candidates, km, points))
        unique_points, first = np.unique(points[order], return_index=True)
        nearest = np.full(len(lats), -1, dtype=np.intp)
        nearest[unique_points] = candidates[order][first]
        return nearest


@dataclass(frozen=True, slots=True)
class _Surroundings:
    """What the rule looks at around a point."""

    inside: str | None  # the département whose contour contains it
    on_foreign_land: bool
    within_margin: frozenset[str]  # départements within FOREIGN_MARGIN_KM
    nearby: frozenset[str]  # within BORDER_ZONE_KM
    offshore: frozenset[str]  # within OFFSHORE_LIMIT_KM
    commune: int | None  # the nearest commune point


def _first_per_point(pairs: NDArray[np.intp], count: int) -> NDArray[np.intp]:
    """For (point, tree index) pairs, the smallest tree index per point; -1 where none."""
    first = np.full(count, -1, dtype=np.intp)
    points, indices = pairs
    order = np.lexsort((indices, points))
    unique_points, at = np.unique(points[order], return_index=True)
    first[unique_points] = indices[order][at]
    return first

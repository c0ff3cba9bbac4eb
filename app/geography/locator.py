"""Point -> département: country land says whether a point is in France, commune points say where.

1. On the land of another country (OpenStreetMap borders): abroad. Foreign land wins over French
   land, so the Spanish exclave of Llívia, which France's outline does not cut out, is abroad.
2. On French land: the département of the nearest commune point. Every commune has a point, so a
   commune's own point always gives its own département; near a border between départements the
   nearest commune is a better witness than any generalised contour (geodata/README.md measures it).
3. At sea: the nearest land decides. Within OFFSHORE_LIMIT_KM of French land, and nearer to it
   than to any foreign land, a point is placed like a point on land; otherwise it is abroad.

`locate` and `locate_many` run the same vectorised code, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from app.geography.distance import geodesic_km
from app.geography.grid import PointGrid
from app.geography.model import Point, PointLocation, PointPlacement

KM_PER_DEGREE = 111.32
OFFSHORE_LIMIT_KM = 20.0  # at sea, farther than this from French land: outside France


@dataclass(frozen=True, slots=True)
class CommunePoints:
    """Points of the communes a coordinate can fall in, as parallel arrays."""

    codes: tuple[str, ...]  # the commune a point in it belongs to (the city for an arrondissement)
    departements: tuple[str, ...]
    lats: NDArray[np.float64]
    lons: NDArray[np.float64]


class PointLocator:
    def __init__(self, france: shapely.Geometry, foreign: shapely.Geometry, communes: CommunePoints) -> None:
        self._france = france
        self._foreign = foreign
        shapely.prepare(france)
        shapely.prepare(foreign)
        self._communes = communes
        self._commune_grid = PointGrid(communes.lats, communes.lons, GRID_CELL_DEGREES)

    def locate(self, point: Point) -> PointLocation:
        """The département a point lies in, with the nearest commune, or 'outside France'."""
        return self.locate_many([point])[0]

    def locate_many(self, points: Sequence[Point]) -> list[PointLocation]:
        """`locate` for many points at once."""
        return self._locate(points, excluded_commune=None)

    def locate_without(self, point: Point, excluded_commune: int) -> PointLocation:
        """`locate`, as if one commune point were missing: for leave-one-out measurement."""
        return self._locate([point], excluded_commune)[0]

    def _locate(self, points: Sequence[Point], excluded_commune: int | None) -> list[PointLocation]:
        if not points:
            return []
        lats = np.array([p.lat for p in points])
        lons = np.array([p.lon for p in points])
        communes, near_coast = self.communes_at(lats, lons, excluded_commune)
        return [self._location(int(communes[i]), bool(near_coast[i])) for i in range(len(points))]

    def communes_at(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], excluded_commune: int | None = None
    ) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """The rule on arrays: for each point, the index of the commune point that places it (-1:
        outside France), and whether it lies at sea near the coast."""
        here = shapely.points(lons, lats)
        abroad = shapely.intersects(self._foreign, here)
        on_land = ~abroad & shapely.intersects(self._france, here)
        near_coast = np.zeros(len(lats), dtype=bool)
        at_sea = np.flatnonzero(~abroad & ~on_land)
        if len(at_sea):
            near_coast[at_sea] = self._nearest_land_is_french(here[at_sea], lats[at_sea])
        in_france = np.flatnonzero(on_land | near_coast)
        communes = np.full(len(lats), -1, dtype=np.intp)
        if excluded_commune is None:
            communes[in_france] = self._nearest_communes(lats[in_france], lons[in_france])
        else:
            for i in in_france.tolist():
                communes[i] = self.nearest_commune(Point(float(lats[i]), float(lons[i])), exclude=excluded_commune)
        return communes, near_coast

    def _nearest_land_is_french(self, here: NDArray[np.object_], lats: NDArray[np.float64]) -> NDArray[np.bool_]:
        """For points at sea: is French land within the offshore limit, and nearer than foreign land?"""
        # A degree of longitude is the short side: the limit in degrees errs on the generous side.
        limit = OFFSHORE_LIMIT_KM / (KM_PER_DEGREE * np.maximum(np.cos(np.radians(lats)), 0.01))
        french = shapely.dwithin(self._france, here, limit)
        # nearer to French land than to foreign land: a question only where foreign land is near too
        candidates = np.flatnonzero(french)
        candidates = candidates[shapely.dwithin(self._foreign, here[candidates], limit[candidates])]
        if len(candidates):
            to_france = shapely.distance(self._france, here[candidates])
            to_foreign = shapely.distance(self._foreign, here[candidates])
            french[candidates] = to_france < to_foreign
        return french

    def _location(self, commune: int, at_sea: bool) -> PointLocation:
        if commune < 0:
            return PointLocation(None, None, PointPlacement.OUTSIDE_FRANCE)
        placement = PointPlacement.NEAR_COAST if at_sea else PointPlacement.NEAREST_COMMUNE
        return PointLocation(self._communes.departements[commune], self._communes.codes[commune], placement)

    def nearest_commune(self, point: Point, exclude: int | None = None) -> int:
        """Index of the commune point nearest to `point` on the ellipsoid (on a tie, the first);
        `exclude`: as if that commune point were missing."""
        lats, lons = np.array([point.lat]), np.array([point.lon])
        radius = _widened(self._commune_grid.nearest_degrees(lats, lons, exclude), lats)
        return int(self._nearest_within(lats, lons, radius, exclude)[0])

    @property
    def communes(self) -> CommunePoints:
        return self._communes

    def _nearest_communes(self, lats: NDArray[np.float64], lons: NDArray[np.float64]) -> NDArray[np.intp]:
        """Index of the nearest commune point of each point, as `nearest_commune` finds it.

        First every commune point in a square of CANDIDATE_DEGREES around each point, in one search
        of the grid: for a point whose widened radius (from its nearest candidate in degrees) stays
        within CANDIDATE_DEGREES, the candidates hold every point `nearest_commune` would weigh; the
        few others (sparse communes, the sea) are searched again within a radius widened from a
        bound, in bulk. One search instead of two for most points. The grid's pairs are taken a
        block at a time (app.geography.grid.PAIRS_AT_ONCE): 10,000 points at sea off a dense coast,
        each weighing some 200 candidates, took a worker to 557 MiB when they were taken at once."""
        grid = self._commune_grid
        nearest = np.full(len(lats), -1, dtype=np.intp)
        closest = np.full(len(lats), np.inf)  # each point's nearest candidate, in degrees
        for block in grid.squares(lats, lons, CANDIDATE_DEGREES):
            here = block.queries
            nearest[here], closest[here] = self._settled(lats[here], lons[here], block.pair_queries, block.points)
        others = np.flatnonzero(nearest < 0)
        if len(others):
            # A candidate's distance bounds the nearest point's in degrees (within CANDIDATE_DEGREES, it
            # is the nearest's); without one, the nearest point of a wider square does: a radius
            # widened from a bound holds the same nearest commune, with more candidates to weigh.
            bounds = grid.bounding_degrees(lats[others], lons[others], bounds=closest[others])
            nearest[others] = self._nearest_within(lats[others], lons[others], _widened(bounds, lats[others]))
        return nearest

    def _settled(
        self,
        lats: NDArray[np.float64],
        lons: NDArray[np.float64],
        pairs: NDArray[np.intp],
        candidates: NDArray[np.intp],
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """The nearest commune point of each point whose candidates hold it (-1 for the others), and
        each point's nearest candidate in degrees (inf: none)."""
        degrees = self._commune_grid.degrees(lats[pairs], lons[pairs], candidates)
        closest = np.full(len(lats), np.inf)
        np.minimum.at(closest, pairs, degrees)
        radius = _widened(closest, lats)
        settled = radius <= CANDIDATE_DEGREES
        kept = settled[pairs] & (degrees <= radius[pairs])
        return _geodesic_nearest(lats, lons, pairs[kept], candidates[kept], self._communes), closest

    def _nearest_communes_by_two_queries(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64]
    ) -> NDArray[np.intp]:
        """The nearest commune point of each point, as `nearest_commune` finds it: the nearest in
        degrees, then the nearest on the ellipsoid within the widened radius."""
        return self._nearest_within(lats, lons, _widened(self._commune_grid.nearest_degrees(lats, lons), lats))

    def _nearest_within(
        self,
        lats: NDArray[np.float64],
        lons: NDArray[np.float64],
        radius: NDArray[np.float64],
        excluded: int | None = None,
    ) -> NDArray[np.intp]:
        """The nearest commune point on the ellipsoid within `radius` degrees of each point (but
        `excluded`), a block of the grid's pairs at a time."""
        nearest = np.full(len(lats), -1, dtype=np.intp)
        for block in self._commune_grid.within(lats, lons, radius):
            pairs, candidates = block.pair_queries, block.points
            if excluded is not None:
                kept = candidates != excluded
                pairs, candidates = pairs[kept], candidates[kept]
            here = block.queries
            nearest[here] = _geodesic_nearest(lats[here], lons[here], pairs, candidates, self._communes)
        return nearest


CANDIDATE_DEGREES = 0.06  # about 6.7 km north-south: 88 % of 10,000 points in France settled at once
GRID_CELL_DEGREES = CANDIDATE_DEGREES  # a candidate square spans three rows and three columns at most


def _widened(nearest_degrees: NDArray[np.float64], lats: NDArray[np.float64]) -> NDArray[np.float64]:
    """Degree space stretches longitudes: anything truly nearer than the nearest point in degrees
    lies within this widened radius."""
    return nearest_degrees / np.maximum(np.cos(np.radians(lats)), 0.01) * 1.01 + 1e-9


def _geodesic_nearest(
    lats: NDArray[np.float64],
    lons: NDArray[np.float64],
    points: NDArray[np.intp],
    candidates: NDArray[np.intp],
    communes: CommunePoints,
) -> NDArray[np.intp]:
    """For each point, the candidate nearest on the ellipsoid (on a tie, the first commune point);
    -1 for a point without candidates."""
    km = geodesic_km(lats[points], lons[points], communes.lats[candidates], communes.lons[candidates])
    order = np.lexsort((candidates, km, points))
    unique_points, first = np.unique(points[order], return_index=True)
    nearest = np.full(len(lats), -1, dtype=np.intp)
    nearest[unique_points] = candidates[order][first]
    return nearest

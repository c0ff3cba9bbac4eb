"""Fixed points found by where they lie in degree space: the commune points' index.

Points sorted by the cell of a regular grid they fall in (rows of latitude, then columns of
longitude), so that the points of a run of cells in one row are one slice of the sorted arrays. A
square around a point is a few such slices, found for many squares at once by binary search. For the
35,000 commune points, four arrays of 0.3 MB each (keys, order, latitudes, longitudes), where a
shapely STRtree over the same points as GEOS geometries held a loaded worker 8 MiB higher (108
against 100 MiB resident): a worker's memory is what this index is for. Same answers: every point an
envelope query with the same square finds.

Degree space, not the ellipsoid: what is near here is only a candidate, which the caller weighs
by geodesic distance (app.geography.locator).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

ROW_STRIDE = 1 << 32  # a cell's key: its row times this, plus its column (both far below 2**31)
QUERIES_AT_ONCE = 2048
FIRST_SEARCH_CELLS = 2  # the first square searched for a point near each query: two cells around it
SEARCH_GROWTH = 2.0  # each next square twice as wide
MAX_DEGREES = 720.0  # squares of a half-side past 360 hold every point: none found there, there is none


class PointGrid:
    def __init__(self, lats: NDArray[np.float64], lons: NDArray[np.float64], cell_degrees: float) -> None:
        self.lats = lats
        self.lons = lons
        self.cell = cell_degrees
        keys = self._keys(self._cells(lats), self._cells(lons))
        self._order = np.argsort(keys, kind="stable")  # within a cell, points keep their index order
        self._sorted_keys = keys[self._order]
        self._sorted_lats, self._sorted_lons = lats[self._order], lons[self._order]

    def in_squares(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], half: NDArray[np.float64] | float
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Every (query, point) pair where the point lies in the square of `half` degrees around
        the query, its edges included: the pairs a GEOS envelope query with the same box gives.
        Queries are taken QUERIES_AT_ONCE at a time: the cells read hold a few times the points
        kept, and only one block's are held at once."""
        halves = np.broadcast_to(half, lats.shape)
        blocks = [
            self._in_squares(lats[start:end], lons[start:end], halves[start:end], start)
            for start, end in _blocks(len(lats), QUERIES_AT_ONCE)
        ]
        if len(blocks) == 1:
            return blocks[0]
        return np.concatenate([q for q, _ in blocks]), np.concatenate([p for _, p in blocks])

    def _in_squares(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], half: NDArray[np.float64], first_query: int
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        south, north, west, east = lats - half, lats + half, lons - half, lons + half
        first_row = self._cells(south)
        rows_spanned = self._cells(north) - first_row + 1
        queries = np.repeat(np.arange(len(lats)), rows_spanned)
        rows = _runs(first_row, rows_spanned)
        starts = np.searchsorted(self._sorted_keys, self._keys(rows, self._cells(west)[queries]), side="left")
        ends = np.searchsorted(self._sorted_keys, self._keys(rows, self._cells(east)[queries]), side="right")
        lengths = ends - starts
        positions = _runs(starts, lengths)
        queries = np.repeat(queries, lengths)
        point_lats, point_lons = self._sorted_lats[positions], self._sorted_lons[positions]
        inside = point_lats >= south[queries]
        inside &= point_lats <= north[queries]
        inside &= point_lons >= west[queries]
        inside &= point_lons <= east[queries]
        return queries[inside] + first_query, self._order[positions[inside]]

    def within(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], radius: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Every (query, point) pair at most `radius` degrees apart (GEOS's `dwithin` on points)."""
        queries, points = self.in_squares(lats, lons, radius)
        close = self.degrees(lats[queries], lons[queries], points) <= radius[queries]
        return queries[close], points[close]

    def nearest_degrees(
        self,
        lats: NDArray[np.float64],
        lons: NDArray[np.float64],
        excluded: int | None = None,
        bounds: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Each query's distance in degrees to its nearest point but `excluded` (inf if none)."""
        bounds = self.bounding_degrees(lats, lons, excluded, bounds)
        bounded = np.flatnonzero(np.isfinite(bounds))
        queries, points = self._but(excluded, lats[bounded], lons[bounded], bounds[bounded])
        nearest = np.full(len(lats), np.inf)
        nearest[bounded] = self._closest(lats[bounded], lons[bounded], queries, points)
        return nearest

    def bounding_degrees(
        self,
        lats: NDArray[np.float64],
        lons: NDArray[np.float64],
        excluded: int | None = None,
        bounds: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """For each query, a distance in degrees within which it has a point but `excluded` (inf:
        no point at all), at least its nearest point's distance and at most 1.5 times the least
        square holding a point. `bounds`: such distances already known (inf: unknown). Squares
        grow until they hold a point; the nearest of that square's is the bound."""
        bounds = np.full(len(lats), np.inf) if bounds is None else bounds.copy()
        waiting = np.flatnonzero(np.isinf(bounds))
        half = FIRST_SEARCH_CELLS * self.cell
        while len(waiting) and half < MAX_DEGREES:
            queries, points = self._but(excluded, lats[waiting], lons[waiting], half)
            found = np.unique(queries)
            bounds[waiting[found]] = self._closest(lats[waiting], lons[waiting], queries, points)[found]
            waiting = np.delete(waiting, found)
            half *= SEARCH_GROWTH
        return bounds

    def _closest(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], queries: NDArray[np.intp], points: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        closest = np.full(len(lats), np.inf)
        np.minimum.at(closest, queries, self.degrees(lats[queries], lons[queries], points))
        return closest

    def degrees(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], points: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        """Euclidean distance in degree space, computed as GEOS computes it."""
        d_lat, d_lon = self.lats[points] - lats, self.lons[points] - lons
        return np.sqrt(d_lon * d_lon + d_lat * d_lat)

    def _but(
        self,
        excluded: int | None,
        lats: NDArray[np.float64],
        lons: NDArray[np.float64],
        half: NDArray[np.float64] | float,
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        queries, points = self.in_squares(lats, lons, half)
        if excluded is not None:
            kept = points != excluded
            queries, points = queries[kept], points[kept]
        return queries, points

    def _cells(self, degrees: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.floor(degrees / self.cell).astype(np.int64)

    @staticmethod
    def _keys(rows: NDArray[np.int64], columns: NDArray[np.int64]) -> NDArray[np.int64]:
        return rows * ROW_STRIDE + columns


def _blocks(count: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, count)) for start in range(0, max(count, 1), size)]


def _runs(firsts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """first, first + 1, ..., first + length - 1 for each pair, end to end."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(firsts - ends + lengths, lengths)

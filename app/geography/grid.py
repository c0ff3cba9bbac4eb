"""Fixed points found by where they lie in degree space: the commune points' index.

Points sorted by the cell of a regular grid they fall in (rows of latitude, then columns of
longitude), so that the points of a run of cells in one row are one slice of the sorted arrays. A
square around a point is a few such slices, found for many squares at once by binary search. For the
35,000 commune points, two arrays of 0.3 MB each, where a shapely STRtree over the same points as
GEOS geometries held a loaded worker 8 MiB higher (108 against 100 MiB resident): a worker's memory
is what this index is for. Same answers: every point of an envelope query with the same square.

Degree space, not the ellipsoid: what is near here is only a candidate, which the caller weighs
by geodesic distance (app.geography.locator).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

ROW_STRIDE = 1 << 32  # a cell's key: its row times this, plus its column (both far below 2**31)
QUERIES_AT_ONCE = 2048


class PointGrid:
    def __init__(self, lats: NDArray[np.float64], lons: NDArray[np.float64], cell_degrees: float) -> None:
        self.lats = lats
        self.lons = lons
        self.cell = cell_degrees
        keys = self._keys(self._cells(lats), self._cells(lons))
        self._order = np.argsort(keys, kind="stable")  # within a cell, points keep their index order
        self._sorted_keys = keys[self._order]

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
        first_row, last_row = self._cells(south), self._cells(north)
        rows_spanned = last_row - first_row + 1
        queries = np.repeat(np.arange(len(lats)), rows_spanned)
        rows = first_row[queries] + _counts_within(rows_spanned)
        starts = np.searchsorted(self._sorted_keys, self._keys(rows, self._cells(west)[queries]), side="left")
        ends = np.searchsorted(self._sorted_keys, self._keys(rows, self._cells(east)[queries]), side="right")
        queries, positions = _expanded(queries, starts, ends)
        points = self._order[positions]
        del positions
        inside = self.lats[points] >= south[queries]
        inside &= self.lats[points] <= north[queries]
        inside &= self.lons[points] >= west[queries]
        inside &= self.lons[points] <= east[queries]
        return queries[inside] + first_query, points[inside]

    def within(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], radius: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Every (query, point) pair at most `radius` degrees apart (GEOS's `dwithin` on points)."""
        queries, points = self.in_squares(lats, lons, radius)
        close = self.degrees(lats[queries], lons[queries], points) <= radius[queries]
        return queries[close], points[close]

    def nearest_degrees(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], excluded: int | None = None
    ) -> NDArray[np.float64]:
        """Each query's distance in degrees to its nearest point but `excluded` (inf if none).
        Squares grow until they hold a point; the nearest of those bounds the distance, and the
        square of that half-side holds every point as near."""
        nearest = np.full(len(lats), np.inf)
        waiting = np.arange(len(lats))
        half = self.cell
        while len(waiting) and half < 720.0:
            queries, points = self._but(excluded, lats[waiting], lons[waiting], half)
            if len(queries):
                reach = waiting[np.unique(queries)]
                bound = self._closest(lats[reach], lons[reach], np.searchsorted(reach, waiting[queries]), points)
                queries, points = self._but(excluded, lats[reach], lons[reach], bound)
                nearest[reach] = self._closest(lats[reach], lons[reach], queries, points)
                waiting = np.setdiff1d(waiting, reach, assume_unique=True)
            half *= 2.0
        return nearest

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


def _counts_within(spans: NDArray[np.int64]) -> NDArray[np.int64]:
    """0, 1, ..., span - 1 for each span, end to end."""
    total = int(spans.sum())
    starts = np.repeat(np.cumsum(spans) - spans, spans)
    return np.arange(total, dtype=np.int64) - starts


def _expanded(
    queries: NDArray[np.intp], starts: NDArray[np.intp], ends: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Each query beside each position of its slice [start, end)."""
    lengths = ends - starts
    positions = np.repeat(starts, lengths) + _counts_within(lengths)
    return np.repeat(queries, lengths), positions

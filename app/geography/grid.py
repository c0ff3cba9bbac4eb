"""Fixed points found by where they lie in degree space: the commune points' index.

Points sorted by the cell of a regular grid they fall in (rows of latitude, then columns of
longitude), so that the points of a run of cells in one row are one slice of the sorted arrays. A
square around a point is a few such slices, found for many squares at once by binary search. For the
35,000 commune points, four arrays of 0.3 MB each (keys, order, latitudes, longitudes), where a
shapely STRtree over the same points as GEOS geometries held a loaded worker 8 MiB higher (108
against 100 MiB resident): a worker's memory is what this index is for. Same answers: every point an
envelope query with the same square finds.

Degree space, not the ellipsoid: what is near here is only a candidate, which the caller weighs
by geodesic distance (app.geography.locator). Any cell numbering that never decreases as a
coordinate grows would do, as long as a row's columns follow each other in key order: the exact
test of each point against the square's edges decides, the cells only narrow what is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

ROW_STRIDE = 1 << 32  # a cell's key: its row times this, plus its column (both far below 2**31)
QUERIES_AT_ONCE = 2048
PAIRS_AT_ONCE = 1 << 15  # a block's candidate pairs: what a caller's arrays of them cost is bounded
FIRST_SEARCH_CELLS = 4  # the first square searched for a point near each query: four cells around it
SEARCH_GROWTH = 2.0  # each next square twice as wide
MAX_DEGREES = 720.0  # squares of a half-side past 360 hold every point: none found there, there is none


class Squares(NamedTuple):
    """One block of a search: its queries (a slice of the search's), and a pair for each point found,
    its query counted from the block's first."""

    queries: slice
    pair_queries: NDArray[np.intp]
    points: NDArray[np.intp]


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
        the query, its edges included: the pairs a GEOS envelope query with the same box gives, all
        at once (unbounded: the service reduces them block by block, `squares`)."""
        blocks = list(self.squares(lats, lons, half))
        if not blocks:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        queries = np.concatenate([block.pair_queries + block.queries.start for block in blocks])
        return queries, np.concatenate([block.points for block in blocks])

    def squares(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], half: NDArray[np.float64] | float
    ) -> Iterator[Squares]:
        """The pairs of `in_squares`, a block of consecutive queries at a time, the cells each block
        reads holding PAIRS_AT_ONCE points at most (a query reading more has a block of its own): a
        caller that reduces each block's pairs to an answer per query holds one block's at a time.
        The cells' slices are found QUERIES_AT_ONCE queries at a time (a wide square spans many rows)."""
        halves = np.broadcast_to(np.asarray(half, dtype=np.float64), lats.shape)
        for start in range(0, len(lats), QUERIES_AT_ONCE):
            part = slice(start, start + QUERIES_AT_ONCE)
            for block in self._squares(lats[part], lons[part], halves[part]):
                yield Squares(slice(block.queries.start + start, block.queries.stop + start), *block[1:])

    def _squares(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], half: NDArray[np.float64]
    ) -> Iterator[Squares]:
        south, north, west, east = lats - half, lats + half, lons - half, lons + half
        first_row = self._cells(south)
        rows_spanned = self._cells(north) - first_row + 1
        row_queries = np.repeat(np.arange(len(lats)), rows_spanned)
        rows = _runs(first_row, rows_spanned)
        starts = np.searchsorted(self._sorted_keys, self._keys(rows, self._cells(west)[row_queries]), side="left")
        ends = np.searchsorted(self._sorted_keys, self._keys(rows, self._cells(east)[row_queries]), side="right")
        lengths = ends - starts
        first_row_of = np.concatenate(([0], np.cumsum(rows_spanned)))
        for first, last in _blocks(np.add.reduceat(lengths, first_row_of[:-1])):
            entries = slice(first_row_of[first], first_row_of[last])
            positions = _runs(starts[entries], lengths[entries])
            pair_queries = np.repeat(row_queries[entries] - first, lengths[entries])
            block = slice(first, last)
            point_lats, point_lons = self._sorted_lats[positions], self._sorted_lons[positions]
            inside = point_lats >= south[block][pair_queries]
            inside &= point_lats <= north[block][pair_queries]
            inside &= point_lons >= west[block][pair_queries]
            inside &= point_lons <= east[block][pair_queries]
            yield Squares(block, pair_queries[inside], self._order[positions[inside]])

    def within(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], radius: NDArray[np.float64]
    ) -> Iterator[Squares]:
        """The pairs at most `radius` degrees apart (GEOS's `dwithin` on points), by block as `squares`."""
        for block in self.squares(lats, lons, radius):
            pairs, points = block.pair_queries, block.points
            degrees = self.degrees(lats[block.queries][pairs], lons[block.queries][pairs], points)
            close = degrees <= radius[block.queries][pairs]
            yield Squares(block.queries, pairs[close], points[close])

    def nearest_degrees(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], excluded: int | None = None
    ) -> NDArray[np.float64]:
        """Each query's distance in degrees to its nearest point but `excluded` (inf if none)."""
        bounds = self.bounding_degrees(lats, lons, excluded)
        bounded = np.flatnonzero(np.isfinite(bounds))
        nearest = np.full(len(lats), np.inf)
        nearest[bounded] = self._closest(lats[bounded], lons[bounded], bounds[bounded], excluded)
        return nearest

    def bounding_degrees(
        self,
        lats: NDArray[np.float64],
        lons: NDArray[np.float64],
        excluded: int | None = None,
        bounds: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """For each query, a distance in degrees within which it has a point but `excluded` (inf:
        no point at all): at least its nearest point's distance, at most the half-diagonal of the
        first of the growing squares searched that holds a point, whose nearest point's distance it
        is. `bounds`: such distances already known (inf: unknown)."""
        bounds = np.full(len(lats), np.inf) if bounds is None else bounds.copy()
        waiting = np.flatnonzero(np.isinf(bounds))
        half = FIRST_SEARCH_CELLS * self.cell
        while len(waiting) and half < MAX_DEGREES:
            closest = self._closest(lats[waiting], lons[waiting], half, excluded)
            found = np.isfinite(closest)
            bounds[waiting[found]] = closest[found]
            waiting = waiting[~found]
            half *= SEARCH_GROWTH
        return bounds

    def _closest(
        self,
        lats: NDArray[np.float64],
        lons: NDArray[np.float64],
        half: NDArray[np.float64] | float,
        excluded: int | None,
    ) -> NDArray[np.float64]:
        """Each query's distance to the nearest point in its square but `excluded` (inf: none)."""
        closest = np.full(len(lats), np.inf)
        for block in self.squares(lats, lons, half):
            pairs, points = block.pair_queries, block.points
            if excluded is not None:
                kept = points != excluded
                pairs, points = pairs[kept], points[kept]
            part = closest[block.queries]  # a view: the minimum is written in place
            np.minimum.at(part, pairs, self.degrees(lats[block.queries][pairs], lons[block.queries][pairs], points))
        return closest

    def degrees(
        self, lats: NDArray[np.float64], lons: NDArray[np.float64], points: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        """Euclidean distance in degree space, computed as GEOS computes it."""
        d_lat, d_lon = self.lats[points] - lats, self.lons[points] - lons
        return np.sqrt(d_lon * d_lon + d_lat * d_lat)

    def _cells(self, degrees: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.floor(degrees / self.cell).astype(np.int64)

    @staticmethod
    def _keys(rows: NDArray[np.int64], columns: NDArray[np.int64]) -> NDArray[np.int64]:
        return rows * ROW_STRIDE + columns


def _blocks(pairs_of_each_query: NDArray[np.int64]) -> Iterator[tuple[int, int]]:
    """Consecutive queries whose pairs add up to PAIRS_AT_ONCE at most, or one query alone."""
    total = np.cumsum(pairs_of_each_query)
    first, done = 0, 0
    while first < len(total):
        last = max(int(np.searchsorted(total, done + PAIRS_AT_ONCE, side="right")), first + 1)
        yield first, last
        first, done = last, int(total[last - 1])


def _runs(firsts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """first, first + 1, ..., first + length - 1 for each pair, end to end."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(firsts - ends + lengths, lengths)

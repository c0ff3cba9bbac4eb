"""The commune points' grid gives what a GEOS tree over the same points gives (shapely's STRtree is
the oracle): the points in a square, within a distance, and the nearest distance."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import shapely
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from app.geography.grid import PAIRS_AT_ONCE, PointGrid, Squares
from tests.geography.shared import GEOGRAPHY

COMMUNES = GEOGRAPHY.locator.communes
GRID = PointGrid(COMMUNES.lats, COMMUNES.lons, 0.06)
TREE = shapely.STRtree(shapely.points(COMMUNES.lons, COMMUNES.lats))


def pairs(queries: NDArray[np.intp], points: NDArray[np.intp]) -> list[tuple[int, int]]:
    return sorted(zip(queries.tolist(), points.tolist(), strict=True))


def pairs_of(blocks: Iterator[Squares]) -> list[tuple[int, int]]:
    return sorted(
        (query + block.queries.start, point)
        for block in blocks
        for query, point in zip(block.pair_queries.tolist(), block.points.tolist(), strict=True)
    )


def queries_near_communes() -> st.SearchStrategy[tuple[float, float]]:
    """Anywhere in the world, near a commune point, or exactly a commune point's corner of a square."""
    anywhere = st.tuples(st.floats(-89, 89), st.floats(-179, 179))
    index = st.integers(0, len(COMMUNES.lats) - 1)
    near = st.tuples(index, st.floats(-0.2, 0.2), st.floats(-0.2, 0.2)).map(
        lambda c: (float(COMMUNES.lats[c[0]]) + c[1], float(COMMUNES.lons[c[0]]) + c[2])
    )
    on_edge = st.tuples(index, st.sampled_from([-0.06, 0.0, 0.06]), st.sampled_from([-0.06, 0.0, 0.06])).map(
        lambda c: (float(COMMUNES.lats[c[0]]) + c[1], float(COMMUNES.lons[c[0]]) + c[2])
    )
    return st.one_of(anywhere, near, on_edge)


@given(st.lists(queries_near_communes(), min_size=1, max_size=30), st.sampled_from([0.01, 0.06, 0.13, 0.5, 2.0]))
def test_the_points_in_a_square_are_those_of_an_envelope_query(queries: list[tuple[float, float]], half: float) -> None:
    lats, lons = np.array([q[0] for q in queries]), np.array([q[1] for q in queries])
    boxes = shapely.box(lons - half, lats - half, lons + half, lats + half)
    assert pairs(*GRID.in_squares(lats, lons, half)) == pairs(*TREE.query(boxes))


@given(st.lists(st.tuples(queries_near_communes(), st.floats(0, 0.8)), min_size=1, max_size=30))
def test_the_points_within_a_distance_are_those_of_a_dwithin_query(
    queries: list[tuple[tuple[float, float], float]],
) -> None:
    lats = np.array([q[0][0] for q in queries])
    lons = np.array([q[0][1] for q in queries])
    radius = np.array([q[1] for q in queries])
    expected = TREE.query(shapely.points(lons, lats), predicate="dwithin", distance=radius)
    assert pairs_of(GRID.within(lats, lons, radius)) == pairs(*expected)


@given(st.lists(queries_near_communes(), min_size=1, max_size=30))
def test_the_nearest_distance_is_the_trees(queries: list[tuple[float, float]]) -> None:
    lats, lons = np.array([q[0] for q in queries]), np.array([q[1] for q in queries])
    (found, _), degrees = TREE.query_nearest(shapely.points(lons, lats), return_distance=True)
    expected = np.full(len(lats), np.nan)
    expected[found] = degrees
    assert GRID.nearest_degrees(lats, lons).tolist() == expected.tolist()


@given(st.integers(0, len(COMMUNES.lats) - 1), st.floats(-0.01, 0.01), st.floats(-0.01, 0.01))
def test_an_excluded_point_is_not_the_nearest(index: int, d_lat: float, d_lon: float) -> None:
    lats, lons = np.array([COMMUNES.lats[index] + d_lat]), np.array([COMMUNES.lons[index] + d_lon])
    others = np.delete(np.arange(len(COMMUNES.lats)), index)
    expected = np.sqrt((COMMUNES.lons[others] - lons[0]) ** 2 + (COMMUNES.lats[others] - lats[0]) ** 2).min()
    assert GRID.nearest_degrees(lats, lons, excluded=index).tolist() == [expected]


def test_an_empty_grid_has_no_nearest_point() -> None:
    empty = PointGrid(np.empty(0), np.empty(0), 0.12)
    assert empty.nearest_degrees(np.array([45.0]), np.array([2.0])).tolist() == [np.inf]
    assert [len(side) for side in empty.in_squares(np.array([45.0]), np.array([2.0]), 0.06)] == [0, 0]


def test_many_queries_are_answered_block_by_block_as_one() -> None:
    """More pairs than PAIRS_AT_ONCE: blocks of consecutive queries, none holding more pairs (but a
    query alone), whose pairs name the queries of the whole call."""
    rng = np.random.default_rng(26)
    lats, lons = rng.uniform(41.3, 51.1, 5_000), rng.uniform(-5.2, 9.6, 5_000)
    half = rng.uniform(0.0, 0.3, 5_000)
    boxes = shapely.box(lons - half, lats - half, lons + half, lats + half)
    blocks = list(GRID.squares(lats, lons, half))
    assert len(blocks) > 2
    assert [block.queries.start for block in blocks[1:]] == [block.queries.stop for block in blocks[:-1]]
    assert (blocks[0].queries.start, blocks[-1].queries.stop) == (0, len(lats))
    for block in blocks:
        assert len(block.points) <= PAIRS_AT_ONCE or block.queries.stop - block.queries.start == 1
    assert pairs_of(iter(blocks)) == pairs(*TREE.query(boxes))
    # blocks filled, not one query each: the cells read hold fewer than three times the points kept
    # here (8 blocks for 141,525 pairs kept); a block ending early would make thousands
    assert len(blocks) <= 3 * sum(len(block.points) for block in blocks) / PAIRS_AT_ONCE + 2


def test_a_query_reading_more_than_a_block_has_a_block_of_its_own() -> None:
    """A square of 10 degrees over the mainland reads nearly every commune point, more than
    PAIRS_AT_ONCE: one block, the query alone (taken three at most, so that a loop fails, not hangs)."""
    blocks = list(itertools.islice(GRID.squares(np.array([46.5]), np.array([2.5]), 5.0), 3))
    assert [(block.queries.start, block.queries.stop) for block in blocks] == [(0, 1)]
    assert len(blocks[0].points) > PAIRS_AT_ONCE


@given(st.lists(queries_near_communes(), min_size=1, max_size=30))
def test_a_bound_is_the_distance_of_a_point_at_least_as_far_as_the_nearest(queries: list[tuple[float, float]]) -> None:
    lats, lons = np.array([q[0] for q in queries]), np.array([q[1] for q in queries])
    bounds = GRID.bounding_degrees(lats, lons)
    nearest = GRID.nearest_degrees(lats, lons)
    assert (bounds >= nearest).all()
    for lat, lon, bound in zip(lats.tolist(), lons.tolist(), bounds.tolist(), strict=True):
        every = GRID.degrees(
            np.full(len(COMMUNES.lats), lat), np.full(len(COMMUNES.lats), lon), np.arange(len(COMMUNES.lats))
        )
        assert bound in every

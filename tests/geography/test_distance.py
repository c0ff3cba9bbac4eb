from __future__ import annotations

import numpy as np
import pytest
from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from app.geography import Geography, geodesic_km

latitudes = st.floats(-90, 90)
longitudes = st.floats(-180, 180)


def test_within_half_a_percent_of_geopy_on_real_commune_pairs(geography: Geography) -> None:
    points = [c.point for c in geography.communes.values() if c.point]
    rng = np.random.default_rng(7)
    pairs = rng.choice(len(points), size=(2000, 2))
    ours = geodesic_km(
        [points[i].lat for i, _ in pairs],
        [points[i].lon for i, _ in pairs],
        [points[j].lat for _, j in pairs],
        [points[j].lon for _, j in pairs],
    )
    for (i, j), km in zip(pairs, ours, strict=True):
        exact = geodesic((points[i].lat, points[i].lon), (points[j].lat, points[j].lon)).km
        assert km == pytest.approx(exact, rel=0.005, abs=1e-6)


@pytest.mark.parametrize(
    ("a", "b"),
    [((48.8566, 2.3522), (43.2965, 5.3698)), ((48.8566, 2.3522), (-20.8823, 55.4504)), ((41.9, 8.7), (42.7, 9.45))],
)
def test_known_pairs_match_geopy(a: tuple[float, float], b: tuple[float, float]) -> None:
    assert float(geodesic_km(*a, *b)) == pytest.approx(geodesic(a, b).km, rel=0.005)


@given(latitudes, longitudes, latitudes, longitudes)
def test_symmetric_and_non_negative(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    there = float(geodesic_km(lat1, lon1, lat2, lon2))
    back = float(geodesic_km(lat2, lon2, lat1, lon1))
    assert there >= 0
    assert there == pytest.approx(back, abs=1e-9)


@given(latitudes, longitudes)
def test_zero_on_the_same_point(lat: float, lon: float) -> None:
    assert float(geodesic_km(lat, lon, lat, lon)) == 0.0

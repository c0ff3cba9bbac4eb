from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geography import CommuneMatch, Geography, NotFound, NotFoundReason, Point, PostalCode, geodesic_km
from tests.geography.shared import GEOGRAPHY


def points_anywhere() -> st.SearchStrategy[Point]:
    return st.builds(Point, st.floats(-90, 90), st.floats(-180, 180))


def match(geography: Geography, code: str) -> CommuneMatch:
    result = geography.commune(code)
    assert isinstance(result, CommuneMatch), result
    return result


def test_arrondissement_resolves_to_its_city_departement_and_region(geography: Geography) -> None:
    paris_15 = match(geography, "75115")
    assert paris_15.city_code == "75056"
    assert paris_15.commune.departement == "75"
    assert paris_15.commune.region == "11"


@pytest.mark.parametrize(("typed", "code"), [("2a004", "2A004"), (" 75115 ", "75115"), ("1053", "01053")])
def test_codes_are_normalised_as_people_type_them(geography: Geography, typed: str, code: str) -> None:
    assert match(geography, typed).commune.code == code


def test_old_code_of_merged_commune_gives_todays_commune(geography: Geography) -> None:
    arbignieu = match(geography, "01340")  # merged into Arboys en Bugey in 2016
    assert arbignieu.via_old_code
    assert arbignieu.commune.code == "01015"
    assert arbignieu.commune.name == "Arboys en Bugey"


def test_old_codes_all_lead_to_current_communes(geography: Geography) -> None:
    assert len(geography.aliases) > 4000
    assert all(current in geography.communes for current in geography.aliases.values())
    assert not set(geography.aliases) & set(geography.communes)


@pytest.mark.parametrize(
    ("postal_code", "communes", "departements"),
    [
        ("13001", ("13201",), ("13",)),
        ("20000", ("2A004",), ("2A",)),
        ("97200", ("97209",), ("972",)),
    ],
)
def test_postal_codes(geography: Geography, postal_code: str, communes: tuple, departements: tuple) -> None:
    result = geography.postal_code(postal_code)
    assert isinstance(result, PostalCode)
    assert result.communes == communes
    assert result.departements == departements


def test_marseille_postal_code_is_an_arrondissement_of_marseille(geography: Geography) -> None:
    assert match(geography, "13201").city_code == "13055"
    assert geography.communes["13055"].name == "Marseille"


def test_fort_de_france(geography: Geography) -> None:
    assert match(geography, "97209").commune.name == "Fort-de-France"


def test_postal_code_shared_by_two_departements(geography: Geography) -> None:
    shared = geography.postal_code("01200")
    assert isinstance(shared, PostalCode)
    assert shared.departements == ("01", "74")
    assert {geography.communes[c].departement for c in shared.communes} == {"01", "74"}


@pytest.mark.parametrize(
    ("lat", "lon", "departement"),
    [
        (48.8566, 2.3522, "75"),
        (16.2411, -61.5331, "971"),  # Pointe-à-Pitre
        (14.6161, -61.0588, "972"),
        (4.9372, -52.3260, "973"),
        (-20.8823, 55.4504, "974"),
        (-12.7806, 45.2279, "976"),  # Mamoudzou
        (41.9192, 8.7369, "2A"),
        (42.6973, 9.4509, "2B"),
        (48.3904, -4.4861, "29"),
    ],
)
def test_point_to_departement(geography: Geography, lat: float, lon: float, departement: str) -> None:
    assert geography.locate(Point(lat, lon)).departement == departement


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(45.0, -10.0), (46.2044, 6.1432), (47.5596, 7.5886), (40.4168, -3.7038), (0.0, 0.0)],
    ids=["atlantic", "geneva", "basel", "madrid", "gulf-of-guinea"],
)
def test_points_abroad_are_outside_france(geography: Geography, lat: float, lon: float) -> None:
    located = geography.locate(Point(lat, lon))
    assert not located.in_france
    assert located.departement is None


def test_point_gives_nearest_commune(geography: Geography) -> None:
    assert geography.locate(Point(43.2965, 5.3698)).nearest_commune == "13055"


def test_adjacency_samples(geography: Geography) -> None:
    assert geography.neighbours("75") == {"92", "93", "94"}
    assert geography.neighbours("2A") == {"2B"}
    assert geography.neighbours("971") == set()
    assert geography.neighbours("69") == {"01", "38", "42", "71"}


def test_adjacency_is_symmetric_and_irreflexive(geography: Geography) -> None:
    for departement, neighbours in geography.adjacency.items():
        assert departement not in neighbours
        for other in neighbours:
            assert departement in geography.adjacency[other], (departement, other)


def test_corner_pairs_follow_the_sources(geography: Geography) -> None:
    # Beaumont-de-Pertuis (84) borders Vinon-sur-Verdon (83); no commune of 04 borders one of 13.
    assert "84" in geography.neighbours("83")
    assert "13" not in geography.neighbours("04")
    # Val-et-Châtillon (54) borders Grandfontaine (67); the Moselle's neighbours exclude the Vosges.
    assert "67" in geography.neighbours("54")
    assert "88" not in geography.neighbours("57")


def review_rows() -> list[dict[str, str]]:
    path = Path(__file__).resolve().parents[2] / "tools" / "adjacency_review.csv"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


@pytest.mark.parametrize("row", review_rows(), ids=lambda r: f"{r['departement_a']}-{r['departement_b']}")
def test_adjacency_follows_each_reviewed_pair_and_its_source(geography: Geography, row: dict[str, str]) -> None:
    assert row["decision"] in {"adjacent", "not_adjacent"}
    assert row["kind"] in {"S", "P"}
    assert row["source"].strip()
    assert row["evidence"].strip()
    adjacent = row["departement_b"] in geography.neighbours(row["departement_a"])
    assert adjacent is (row["decision"] == "adjacent")


def test_overseas_have_no_land_neighbour(geography: Geography) -> None:
    assert all(not geography.neighbours(d) for d in ("971", "972", "973", "974", "976"))


def test_regions(geography: Geography) -> None:
    assert geography.region_of("13") == "93"
    assert geography.departements_of_region("94") == {"2A", "2B"}
    assert geography.departements_of_region("11") == {"75", "77", "78", "91", "92", "93", "94", "95"}
    assert len(geography.regions) == 26


def test_every_metro_and_overseas_commune_has_a_point(geography: Geography) -> None:
    missing = [
        c.code
        for c in geography.communes.values()
        if geography.departements[c.departement].zone != "com" and not c.point
    ]
    assert missing == []
    assert len(geography.communes) > 34_900


def test_unknown_and_malformed_codes_are_typed_results(geography: Geography) -> None:
    assert geography.commune("99999") == NotFound(NotFoundReason.UNKNOWN)
    assert geography.commune("ABCDE") == NotFound(NotFoundReason.MALFORMED)
    assert geography.postal_code("00000") == NotFound(NotFoundReason.UNKNOWN)
    assert geography.postal_code("75-0") == NotFound(NotFoundReason.MALFORMED)


@given(st.text())
def test_resolver_never_raises_on_arbitrary_text(text: str) -> None:
    assert isinstance(GEOGRAPHY.commune(text), CommuneMatch | NotFound)
    assert isinstance(GEOGRAPHY.postal_code(text), PostalCode | NotFound)


@given(st.floats(-90, 90), st.floats(-180, 180))
def test_locate_never_raises_on_any_point(lat: float, lon: float) -> None:
    located = GEOGRAPHY.locate(Point(lat, lon))
    assert located.departement is None or located.departement in GEOGRAPHY.departements


def test_point_repr_hides_the_position() -> None:
    assert "48" not in repr(Point(48.85, 2.35))


def test_point_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="latitude"):
        Point(91, 0)


@given(st.lists(st.tuples(st.floats(40, 52), st.floats(-6, 11)), max_size=30), st.lists(points_anywhere(), max_size=5))
def test_locating_in_bulk_gives_what_locating_one_by_one_gives(
    near_france: list[tuple[float, float]], anywhere: list[Point]
) -> None:
    points = [Point(lat, lon) for lat, lon in near_france] + anywhere
    assert GEOGRAPHY.locate_many(points) == [GEOGRAPHY.locate(p) for p in points]


def test_bulk_locating_commune_points_matches(geography: Geography) -> None:
    points = [c.point for c in list(geography.communes.values())[::25] if c.point]
    assert geography.locate_many(points) == [geography.locate(p) for p in points]


OVERSEAS_BOXES = [(14.3, 16.6, -61.9, -60.7), (2.0, 6.0, -54.7, -51.5), (-21.5, -20.8, 55.2, 55.9),
                  (-13.1, -12.6, 44.9, 45.4), (46.7, 47.2, -56.5, -56.1)]  # fmt: skip


@given(
    st.lists(st.tuples(st.floats(41, 52), st.floats(-6, 10)), max_size=40),
    st.lists(
        st.sampled_from(OVERSEAS_BOXES).flatmap(
            lambda box: st.tuples(st.floats(box[0], box[1]), st.floats(box[2], box[3]))
        ),
        max_size=10,
    ),
)
def test_the_nearest_commune_points_of_one_query_are_those_of_the_point_by_point_search(
    mainland: list[tuple[float, float]], overseas: list[tuple[float, float]]
) -> None:
    """The bulk search's shortcut (one candidate query) finds, for every point, the commune point
    `nearest_commune` finds for it alone, and the bulk search of two queries as well (a tie between
    commune points at the same distance may fall either way in `nearest_commune`)."""
    locator = GEOGRAPHY.locator
    lats = np.array([lat for lat, _ in mainland + overseas], dtype=np.float64)
    lons = np.array([lon for _, lon in mainland + overseas], dtype=np.float64)
    nearest = locator._nearest_communes(lats, lons)
    assert nearest.tolist() == locator._nearest_communes_by_two_queries(lats, lons).tolist()
    communes = locator.communes
    for lat, lon, found in zip(lats.tolist(), lons.tolist(), nearest.tolist(), strict=True):
        alone = locator.nearest_commune(Point(lat, lon))
        km = geodesic_km(lat, lon, communes.lats[[found, alone]], communes.lons[[found, alone]])
        assert found == alone or km[0] == km[1]


def test_points_far_from_any_commune_take_the_two_query_search(geography: Geography) -> None:
    """Mid-Atlantic and central Guyane: no commune point within the shortcut's radius."""
    lats, lons = np.array([45.0, 3.3]), np.array([-20.0, -53.2])
    locator = geography.locator
    assert locator._nearest_communes(lats, lons).tolist() == (
        locator._nearest_communes_by_two_queries(lats, lons).tolist()
    )
    assert (locator._nearest_communes(lats, lons) >= 0).all()


def test_the_shortcut_agrees_on_thousands_of_points(geography: Geography) -> None:
    """Where the shortcut could go wrong (a nearer commune just outside its candidates) is rare: a
    seeded sample wide enough to meet it, over mainland France and each overseas département."""
    rng = np.random.default_rng(15)
    boxes = [(41.3, 51.1, -5.2, 9.6, 20_000)] + [(*box, 2_000) for box in OVERSEAS_BOXES]
    lats = np.concatenate([rng.uniform(b[0], b[1], b[4]) for b in boxes])
    lons = np.concatenate([rng.uniform(b[2], b[3], b[4]) for b in boxes])
    locator = geography.locator
    shortcut = locator._nearest_communes(lats, lons)
    assert (shortcut == locator._nearest_communes_by_two_queries(lats, lons)).all()


def brute_force_nearest(lat: float, lon: float, excluded: int | None = None) -> int:
    """Every commune point weighed on the ellipsoid; on a tie, the first."""
    communes = GEOGRAPHY.locator.communes
    km = geodesic_km(lat, lon, communes.lats, communes.lons)
    if excluded is not None:
        km[excluded] = np.inf
    return int(np.flatnonzero(km == km.min())[0])


@given(st.integers(0, len(GEOGRAPHY.locator.communes.lats) - 1), st.floats(-0.03, 0.03), st.floats(-0.03, 0.03))
def test_leaving_a_commune_out_finds_the_nearest_of_the_others_wherever_the_point_is(
    index: int, d_lat: float, d_lon: float
) -> None:
    """`locate_without` (the leave-one-out measure of geodata/README.md) as every other commune point
    weighed would place the point: at the commune's own point and around it (1ea7d6b's tree returned
    the excluded commune itself for about half the points moved 0.01 degree away)."""
    communes = GEOGRAPHY.locator.communes
    lat, lon = float(communes.lats[index]) + d_lat, float(communes.lons[index]) + d_lon
    assert GEOGRAPHY.locator.nearest_commune(Point(lat, lon), exclude=index) == brute_force_nearest(lat, lon, index)


def test_commune_points_at_the_same_place_give_the_first_of_them() -> None:
    communes = GEOGRAPHY.locator.communes
    places = np.stack([communes.lats, communes.lons], axis=1)
    _, first, counts = np.unique(places, axis=0, return_index=True, return_counts=True)
    shared = first[counts > 1]
    assert len(shared) >= 1  # five pairs in the geodata of 2026, e.g. two communes at (47.2333, 6.65)
    locator = GEOGRAPHY.locator
    for index in shared.tolist():
        lat, lon = float(communes.lats[index]), float(communes.lons[index])
        twins = np.flatnonzero((communes.lats == lat) & (communes.lons == lon))
        assert locator.nearest_commune(Point(lat, lon)) == int(twins.min()) == index
        assert locator._nearest_communes(np.array([lat]), np.array([lon])).tolist() == [index]

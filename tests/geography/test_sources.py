"""Facts of geodata/ that docs/sources.md lists, each pinned to what its source says."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.geography import Geography, Point

ROOT = Path(__file__).resolve().parents[2]


def test_search_radii_are_the_sas_spreadsheet_figures(geography: Geography) -> None:
    # tools/sources/sas-search-radii-2025.csv = ansforge/SAS-moteur-recherche,
    # doc/data/SAS_Rayons_zones_de_recherche_2025.ods (cityDefaultRadius, enlargementValue)
    with (ROOT / "tools/sources/sas-search-radii-2025.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 101
    for row in rows:
        radius = geography.search_radii[row["departement"]]
        assert (radius.default_km, radius.enlargement_km) == (
            float(row["default_radius_km"]),
            float(row["enlargement_km"]),
        )
    assert (geography.search_radii["13"].default_km, geography.search_radii["13"].enlargement_km) == (10, 5)
    assert (geography.search_radii["973"].default_km, geography.search_radii["973"].enlargement_km) == (0, 0)


def test_population_is_the_cog_figure(geography: Geography) -> None:
    # @etalab/decoupage-administratif 6.0.0, communes.json, field population of 75056
    assert geography.communes["75056"].population == 2_103_778


def test_a_split_commune_leads_to_its_first_heir_by_code(geography: Geography) -> None:
    # project choice: an old code must lead to one commune; the COG lists both heirs
    assert geography.aliases["55273"] == "55245"
    assert geography.aliases["60455"] == "60054"


@pytest.mark.parametrize(
    ("lat", "lon", "departement"),
    [
        (48.33, -4.70, "29"),  # at sea, ~5 km off the Pointe Saint-Mathieu: the nearest land is French
        (48.40, -5.60, None),  # at sea, ~35 km west of Ouessant: beyond the offshore limit
        (43.725, 7.44, None),  # at sea off Monaco, nearer to Monaco's land than to France's
        (49.21, -2.13, None),  # Saint-Hélier, Jersey: foreign land
    ],
    ids=["off-brest", "atlantic", "off-monaco", "jersey"],
)
def test_at_sea_the_nearest_land_decides(geography: Geography, lat: float, lon: float, departement: str | None) -> None:
    assert geography.locate(Point(lat, lon)).departement == departement

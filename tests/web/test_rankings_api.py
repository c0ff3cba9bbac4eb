"""POST /v1/rankings against a real uvicorn on loopback."""

from __future__ import annotations

import httpx
import pytest

MARSEILLE_ROSTER = [
    {"id": "p-paris", "location": {"commune": "75056"}},
    {"id": "p-ajaccio", "location": {"commune": "2A004"}},
    {"id": "p-nice", "location": {"commune": "06088"}},
    {"id": "p-avignon", "location": {"commune": "84007"}},
    {"id": "p-marseille", "location": {"commune": "13055"}},
    {"id": "p-aubagne", "location": {"commune": "13005"}},
]


def rank(client: httpx.Client, body: dict) -> dict:
    response = client.post("/v1/rankings", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def tiers(result: dict) -> list[tuple[str, str]]:
    return [(r["id"], r["tier"]) for r in result["ranking"]]


def test_marseille_patient_gets_territorial_first(client: httpx.Client) -> None:
    result = rank(client, {"patient": {"location": {"postal_code": "13001"}}, "physicians": MARSEILLE_ROSTER})
    assert tiers(result) == [
        ("p-marseille", "same_departement"),
        ("p-aubagne", "same_departement"),
        ("p-avignon", "adjacent_departement"),
        ("p-nice", "same_region"),
        ("p-ajaccio", "outside_territory"),
        ("p-paris", "outside_territory"),
    ]
    assert [r["rank"] for r in result["ranking"]] == [1, 2, 3, 4, 5, 6]
    assert [r["territorial"] for r in result["ranking"]] == [True, True, False, False, False, False]
    assert [r["departement"] for r in result["ranking"]] == ["13", "13", "84", "06", "2A", "75"]
    distances = [r["distance_km"] for r in result["ranking"]]
    assert distances[0] < distances[1]  # inside a tier, nearest first
    assert distances[4] < distances[5]
    assert result["territoriality"] == {"applicable": True, "reason": None}
    assert result["patient"]["departements"] == ["13"]
    assert result["patient"]["region"] == "93"
    assert result["patient"]["commune"] == "13055"
    assert result["information_message"] is None
    assert result["policy"] == {"name": "departement", "version": "1"}


def test_radius_policy_on_the_same_roster(client: httpx.Client) -> None:
    body = {"patient": {"location": {"postal_code": "13001"}}, "physicians": MARSEILLE_ROSTER, "policy": "radius"}
    result = rank(client, body)
    # Bouches-du-Rhône: radius 10 km, enlargement 5 km (ANS SAS figures): the département is territorial
    assert tiers(result) == [
        ("p-marseille", "within_radius"),
        ("p-aubagne", "within_radius"),
        ("p-avignon", "adjacent_departement"),
        ("p-nice", "same_region"),
        ("p-ajaccio", "outside_territory"),
        ("p-paris", "outside_territory"),
    ]
    assert result["policy"] == {"name": "radius", "version": "1"}


def test_radius_reaches_across_a_border(client: httpx.Client) -> None:
    # Gex (01) patient; Ain: radius 20 km, enlargement 10 km (ANS SAS figures).
    body = {
        "patient": {"location": {"commune": "01173"}},
        "physicians": [
            {"id": "annecy", "location": {"commune": "74010"}},  # 47.5 km
            {"id": "annemasse", "location": {"commune": "74012"}},  # 20.8 km: past 20, within 30
            {"id": "divonne", "location": {"commune": "01143"}},  # same département
        ],
        "policy": "radius",
    }
    result = rank(client, body)
    assert tiers(result) == [
        ("divonne", "within_radius"),
        ("annemasse", "within_enlarged_radius"),
        ("annecy", "adjacent_departement"),
    ]
    assert [r["territorial"] for r in result["ranking"]] == [True, False, False]


def test_declined_location_returns_the_information_message_and_input_order(client: httpx.Client) -> None:
    for patient in ({"location": None}, {}, None):
        body = {"patient": patient, "physicians": MARSEILLE_ROSTER}
        result = rank(client, body)
        assert result["territoriality"] == {"applicable": False, "reason": "patient_location_missing"}
        assert result["information_message"]["requirement"] == "ETHT.01"
        assert [r["id"] for r in result["ranking"]] == [p["id"] for p in MARSEILLE_ROSTER]
        assert {r["tier"] for r in result["ranking"]} == {"not_applicable"}
        assert all(r["territorial"] is None and r["distance_km"] is None for r in result["ranking"])
        assert result["patient"] is None


def test_patient_abroad(client: httpx.Client) -> None:
    body = {"patient": {"location": {"coordinates": {"lat": 46.2044, "lon": 6.1432}}}, "physicians": MARSEILLE_ROSTER}
    result = rank(client, body)
    assert result["territoriality"] == {"applicable": False, "reason": "patient_outside_france"}
    assert result["information_message"]["id"] == "etht01-territoriality-information"
    assert [r["id"] for r in result["ranking"]] == [p["id"] for p in MARSEILLE_ROSTER]
    assert result["patient"]["departements"] == []


def test_arrondissement_code(client: httpx.Client) -> None:
    body = {
        "patient": {"location": {"commune": "75115"}},
        "physicians": [
            {"id": "versailles", "location": {"commune": "78646"}},
            {"id": "paris-20", "location": {"commune": "75120"}},
            {"id": "boulogne", "location": {"commune": "92012"}},
        ],
    }
    result = rank(client, body)
    assert tiers(result) == [
        ("paris-20", "same_departement"),
        ("boulogne", "adjacent_departement"),
        ("versailles", "same_region"),
    ]
    assert result["patient"]["commune"] == "75056"
    assert result["patient"]["departements"] == ["75"]


def test_old_commune_code(client: httpx.Client) -> None:
    body = {
        "patient": {"location": {"commune": "01340"}},
        "physicians": [
            {"id": "lyon", "location": {"commune": "69123"}},
            {"id": "belley", "location": {"commune": "01034"}},
        ],
    }
    result = rank(client, body)
    assert tiers(result) == [("belley", "same_departement"), ("lyon", "adjacent_departement")]
    assert result["patient"]["commune"] == "01015"
    assert {"pointer": "/patient/location/commune", "code": "old_commune_code"}.items() <= result["warnings"][0].items()


def test_shared_postal_code_makes_a_union_territory(client: httpx.Client) -> None:
    body = {
        "patient": {"location": {"postal_code": "01200"}},
        "physicians": [
            {"id": "lyon", "location": {"commune": "69123"}},
            {"id": "annecy", "location": {"commune": "74010"}},
            {"id": "bourg", "location": {"commune": "01053"}},
        ],
    }
    result = rank(client, body)
    assert result["patient"]["departements"] == ["01", "74"]
    assert result["patient"]["commune"] is None
    assert tiers(result)[2] == ("lyon", "adjacent_departement")
    assert {t for _, t in tiers(result)[:2]} == {"same_departement"}


def test_unknown_physician_commune_is_unlocated_and_last(client: httpx.Client) -> None:
    body = {
        "patient": {"location": {"commune": "13055"}},
        "physicians": [
            {"id": "ghost", "location": {"commune": "13999"}},
            {"id": "paris", "location": {"commune": "75056"}},
        ],
    }
    result = rank(client, body)
    assert tiers(result) == [("paris", "outside_territory"), ("ghost", "unlocated")]
    assert result["ranking"][1]["distance_km"] is None
    assert result["ranking"][1]["departement"] is None
    assert result["warnings"] == [
        {
            "pointer": "/physicians/0/location/commune",
            "code": "physician_unlocated",
            "detail": result["warnings"][0]["detail"],
        }
    ]


def test_duplicate_ids_are_refused(client: httpx.Client) -> None:
    body = {
        "patient": {"location": {"commune": "13055"}},
        "physicians": [
            {"id": "a", "location": {"commune": "13055"}},
            {"id": "b", "location": {"commune": "13055"}},
            {"id": "a", "location": {"commune": "75056"}},
        ],
    }
    response = client.post("/v1/rankings", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"pointer": "/physicians/2/id", "detail": "duplicate id, first given at /physicians/0/id"}
    ]


@pytest.mark.parametrize(
    ("location", "pointer"),
    [({"commune": "13999"}, "/patient/location/commune"), ({"postal_code": "99999"}, "/patient/location/postal_code")],
)
def test_unknown_patient_code_is_a_422_naming_the_field(client: httpx.Client, location: dict, pointer: str) -> None:
    response = client.post("/v1/rankings", json={"patient": {"location": location}, "physicians": MARSEILLE_ROSTER})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == pointer


def test_limit_keeps_the_best(client: httpx.Client) -> None:
    body = {"patient": {"location": {"postal_code": "13001"}}, "physicians": MARSEILLE_ROSTER, "limit": 2}
    assert [r["id"] for r in rank(client, body)["ranking"]] == ["p-marseille", "p-aubagne"]


def test_inconsistent_commune_and_coordinates_are_flagged(client: httpx.Client) -> None:
    location = {"commune": "13055", "coordinates": {"lat": 48.8566, "lon": 2.3522}}
    result = rank(client, {"patient": {"location": location}, "physicians": MARSEILLE_ROSTER})
    assert result["patient"]["departements"] == ["13"]  # the commune decides the département
    assert result["patient"]["coordinates"] == {"lat": 48.8566, "lon": 2.3522}  # the coordinates give the point
    assert [w["code"] for w in result["warnings"]] == ["inconsistent_location"]
    assert result["warnings"][0]["pointer"] == "/patient/location/coordinates"


def test_overseas_patient(client: httpx.Client) -> None:
    body = {
        "patient": {"location": {"postal_code": "97200"}},
        "physicians": [
            {"id": "paris", "location": {"commune": "75056"}},
            {"id": "pap", "location": {"commune": "97120"}},
            {"id": "lamentin", "location": {"commune": "97213"}},
        ],
    }
    result = rank(client, body)
    assert tiers(result) == [
        ("lamentin", "same_departement"),
        ("pap", "outside_territory"),
        ("paris", "outside_territory"),
    ]
    assert result["patient"]["departements"] == ["972"]


def test_coordinates_of_a_physician(client: httpx.Client) -> None:
    body = {
        "patient": {"location": {"commune": "2A004"}},
        "physicians": [
            {"id": "bastia", "location": {"coordinates": {"lat": 42.6973, "lon": 9.4509}}},
            {"id": "ajaccio", "location": {"coordinates": {"lat": 41.9192, "lon": 8.7369}}},
        ],
    }
    result = rank(client, body)
    assert tiers(result) == [("ajaccio", "same_departement"), ("bastia", "adjacent_departement")]

"""Requests of the golden comparison: seeded, covering every location kind, unknown and malformed
codes, shared postal codes, ties, limits, both policies, declined and foreign patients, every
scenario channel and offer, audits with invalid sessions, and the error answers.

The requests are generated once (`python -m tests.golden record`) and stored with the answers, so
that a change of geodata or of this generator never silently changes what is compared.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from app.conformance import decision_table, kit
from app.conformance.synthetic import session as synthetic_session
from app.geography import Geography

SEED = 20261125
RANKINGS = 1500
SCENARIOS = 1000
AUDITS = 20
# Rosters past the size of validation in one piece (64 KiB) and of the locator's batches: every kind
# of location mixed, and physicians given by coordinates alone (the bulk locator on thousands of
# points), drawn from a generator of their own so that the requests above stay as they were.
BIG_ROSTERS = (1_000, 3_000)
BIG_COORDINATE_ROSTERS = (5_000,)

Request = dict[str, Any]  # {"method", "path", "body"}


class Places:
    """Codes and points to draw from, read from the geodata in a stable order."""

    def __init__(self, geography: Geography) -> None:
        communes = sorted(geography.communes.values(), key=lambda c: c.code)
        self.current = [c.code for c in communes if c.parent is None and c.point is not None]
        self.arrondissements = [c.code for c in communes if c.parent is not None]
        self.old_codes = sorted(geography.aliases)
        self.postal_codes = sorted(geography.postal_codes)
        self.shared_postal_codes = sorted(p.code for p in geography.postal_codes.values() if len(p.departements) > 1)
        self.points = {c.code: c.point for c in communes if c.point is not None}
        self.postal_of = {c.code: c.postal_codes for c in communes}


# Points near borders and coasts, and abroad: the locator's hard cases.
NOTABLE_POINTS = [
    (43.7384, 7.4246),  # Monaco
    (43.8150, 7.7750),  # Sanremo
    (48.5690, 7.8160),  # Kehl
    (46.2044, 6.1432),  # Geneva
    (42.4430, 1.8650),  # Llívia
    (42.5430, 1.7330),  # Pas de la Casa
    (50.7800, 3.1260),  # Menen / Halluin
    (49.5000, 6.2000),  # near Mondorff / Luxembourg
    (43.3700, -1.7800),  # Hendaye / Irun
    (48.6270, -2.1300),  # Saint-Briac-sur-Mer
    (41.9192, 8.7386),  # Ajaccio
    (12.7806, 45.2278),  # Mamoudzou
    (14.6161, -61.0588),  # Fort-de-France
    (4.9372, -52.3260),  # Cayenne
    (-20.8823, 55.4504),  # Saint-Denis, La Réunion
    (51.5074, -0.1278),  # London
    (0.0, 0.0),
    (90.0, 180.0),
    (-90.0, -180.0),
]


def location(rng: random.Random, places: Places) -> dict[str, Any]:
    kind = rng.choices(
        [
            "commune",
            "arrondissement",
            "old_code",
            "messy_commune",
            "unknown_commune",
            "postal_code",
            "shared_postal_code",
            "unknown_postal_code",
            "coordinates_near_commune",
            "coordinates_notable",
            "coordinates_random",
            "commune_and_postal_code",
            "commune_and_other_postal_code",
            "commune_and_coordinates",
            "everything",
        ],
        weights=[30, 6, 6, 3, 3, 12, 4, 2, 8, 3, 3, 5, 2, 4, 3],
    )[0]
    commune = rng.choice(places.current)
    if kind == "commune":
        return {"commune": commune}
    if kind == "arrondissement":
        return {"commune": rng.choice(places.arrondissements)}
    if kind == "old_code":
        return {"commune": rng.choice(places.old_codes)}
    if kind == "messy_commune":
        return {"commune": f" {commune.lower()} "}
    if kind == "unknown_commune":
        return {"commune": rng.choice(["99999", "00000", "2A999", "97500"])}
    if kind == "postal_code":
        return {"postal_code": rng.choice(places.postal_codes)}
    if kind == "shared_postal_code":
        return {"postal_code": rng.choice(places.shared_postal_codes)}
    if kind == "unknown_postal_code":
        return {"postal_code": rng.choice(["00000", "99999", "20999"])}
    if kind == "coordinates_near_commune":
        return {"coordinates": near(rng, places, commune)}
    if kind == "coordinates_notable":
        lat, lon = rng.choice(NOTABLE_POINTS)
        return {"coordinates": {"lat": lat, "lon": lon}}
    if kind == "coordinates_random":
        return {"coordinates": {"lat": round(rng.uniform(41.0, 51.5), 5), "lon": round(rng.uniform(-5.5, 10.0), 5)}}
    if kind == "commune_and_postal_code":
        return {"commune": commune, "postal_code": rng.choice(places.postal_of[commune])}
    if kind == "commune_and_other_postal_code":
        return {"commune": commune, "postal_code": rng.choice(places.postal_codes)}
    if kind == "commune_and_coordinates":
        other = commune if rng.random() < 0.7 else rng.choice(places.current)
        return {"commune": commune, "coordinates": near(rng, places, other)}
    return {
        "commune": commune,
        "postal_code": rng.choice(places.postal_of[commune]),
        "coordinates": near(rng, places, commune),
    }


def near(rng: random.Random, places: Places, commune: str) -> dict[str, float]:
    point = places.points[commune]
    lat, lon = point.lat + rng.uniform(-0.03, 0.03), point.lon + rng.uniform(-0.03, 0.03)
    return {"lat": round(lat, 5), "lon": round(lon, 5)}


def patient(rng: random.Random, places: Places) -> dict[str, Any] | None:
    draw = rng.random()
    if draw < 0.06:
        return None
    if draw < 0.12:
        return {"location": None}
    if draw < 0.14:
        return {}
    return {"location": location(rng, places)}


def roster(rng: random.Random, places: Places, size: int) -> list[dict[str, Any]]:
    physicians: list[dict[str, Any]] = []
    for index in range(size):
        if physicians and rng.random() < 0.1:  # a tie: same place as an earlier physician
            physicians.append({"id": f"tie-{index}", "location": rng.choice(physicians)["location"]})
        else:
            physicians.append({"id": f"{rng.randrange(10**10, 10**11)}", "location": location(rng, places)})
    return physicians


def ranking(rng: random.Random, places: Places) -> Request:
    body: dict[str, Any] = {"physicians": roster(rng, places, rng.choice([1, 2, 3, 5, 8, 13, 21, 30]))}
    who = patient(rng, places)
    if who is not None:
        body["patient"] = who
    if rng.random() < 0.4:
        body["policy"] = rng.choice(["departement", "radius"])
    if rng.random() < 0.2:
        body["limit"] = rng.randint(1, 10)
    if rng.random() < 0.03:
        spoil(rng, body)
    return {"method": "POST", "path": "/v1/rankings", "body": body}


def big_ranking(rng: random.Random, places: Places, size: int, coordinates_only: bool) -> Request:
    if coordinates_only:
        physicians = [{"id": f"{index}", "location": {"coordinates": point(rng, places)}} for index in range(size)]
    else:
        physicians = roster(rng, places, size)
    body: dict[str, Any] = {"patient": {"location": location(rng, places)}, "physicians": physicians}
    return {"method": "POST", "path": "/v1/rankings", "body": body}


def point(rng: random.Random, places: Places) -> dict[str, float]:
    draw = rng.random()
    if draw < 0.6:
        return near(rng, places, rng.choice(places.current))
    if draw < 0.7:
        lat, lon = rng.choice(NOTABLE_POINTS)
        return {"lat": lat, "lon": lon}
    return {"lat": round(rng.uniform(41.0, 51.5), 5), "lon": round(rng.uniform(-5.5, 10.0), 5)}


def spoil(rng: random.Random, body: dict[str, Any]) -> None:
    """Make a request invalid in one of the ways clients get it wrong."""
    how = rng.choice(["duplicate_id", "bad_policy", "bad_limit", "unknown_field", "empty_location", "bad_lat"])
    physicians = body.get("physicians") or body.get("proposals", {}).get("with_appointment") or []
    if how == "duplicate_id" and physicians:
        physicians.append(dict(physicians[0]))
    elif how == "bad_policy":
        body["policy"] = "nearest"
    elif how == "bad_limit":
        body["limit"] = 0
    elif how == "unknown_field":
        body["colour"] = "blue"
    elif how == "empty_location" and physicians:
        physicians[0]["location"] = {}
    elif physicians:
        physicians[0]["location"] = {"coordinates": {"lat": 91, "lon": 0}}


def scenario(rng: random.Random, places: Places, number: int) -> dict[str, Any]:
    body: dict[str, Any] = synthetic_session(rng, number)
    del body["session_id"], body["timestamp"]
    who = patient(rng, places)
    if who is None:
        del body["patient"]
    else:
        body["patient"] = who
    for offer, shown in list(body["proposals"].items()):
        if rng.random() < 0.5:
            body["proposals"][offer] = roster(rng, places, rng.randint(0, 6))
        elif rng.random() < 0.1:
            del body["proposals"][offer]
        else:
            body["proposals"][offer] = shown
    if rng.random() < 0.1:
        del body["proposals"]
    if rng.random() < 0.3:
        body["policy"] = rng.choice(["departement", "radius"])
    if rng.random() < 0.03:
        spoil(rng, body)
    return body


def audit(rng: random.Random, places: Places, first: int) -> Request:
    sessions: list[Any] = []
    for number in range(first, first + rng.randint(1, 40)):
        item: Any = {"session_id": f"g{number}", "timestamp": f"2026-11-{rng.randint(1, 28):02d}T10:00:00+01:00"}
        item.update(scenario(rng, places, number))
        if rng.random() < 0.05:
            item = rng.choice([{}, [], "text", {"session_id": 3}, {**item, "timestamp": "yesterday"}])
        sessions.append(item)
    return {"method": "POST", "path": "/v1/audits", "body": {"sessions": sessions}}


def golden_requests(geography: Geography) -> Iterator[Request]:
    rng = random.Random(SEED)
    places = Places(geography)
    for case in kit.load_cases():
        yield {"method": case.request["method"], "path": case.request["path"], "body": case.request.get("body")}
    for row in decision_table.combinations():
        yield {"method": "POST", "path": "/v1/scenario-evaluations", "body": decision_table.request_for(row)}
    for _ in range(RANKINGS):
        yield ranking(rng, places)
    for number in range(SCENARIOS):
        yield {"method": "POST", "path": "/v1/scenario-evaluations", "body": scenario(rng, places, number)}
    for number in range(AUDITS):
        yield audit(rng, places, number * 100)
    for path in ("/v1/policies", "/v1/rulings", "/v1/information-message"):
        yield {"method": "GET", "path": path, "body": None}
    big = random.Random(SEED + 1)
    for size in BIG_ROSTERS:
        yield big_ranking(big, places, size, coordinates_only=False)
    for size in BIG_COORDINATE_ROSTERS:
        yield big_ranking(big, places, size, coordinates_only=True)

"""GET /v1/communes against a real server: the search rules as a table of typed queries, each with
the commune expected first (INSEE codes checked by hand in geodata/communes.csv), then the rules a
single first answer cannot show (homonyms, flags, order), then the refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# (rule, what the patient types, INSEE code expected first, how it matched)
CASES = [
    # folding: case, accents, hyphens, apostrophes, spaces
    ("folding", "Saint-Étienne", "42218", "name"),
    ("folding", "SAINT ETIENNE", "42218", "name"),
    ("folding", "  saint   étienne  ", "42218", "name"),
    ("folding", "saint-etienne", "42218", "name"),
    ("folding", "Villeneuve-d'Ascq", "59009", "name"),
    ("folding", "villeneuve d ascq", "59009", "name"),
    ("folding", "villeneuve dascq", "59009", "name"),
    ("folding", "Villeneuve d’Ascq", "59009", "name"),
    ("folding", "lhay les roses", "94038", "name"),
    ("folding", "COEUVRES ET VALSERY", "02201", "name"),
    ("folding", "evry courcouronnes", "91228", "name"),
    ("folding", "Bourg en Bresse", "01053", "name"),
    # "st"/"ste" read "saint"/"sainte"
    ("saint", "St Etienne", "42218", "name"),
    ("saint", "St-Malo", "35288", "name"),
    ("saint", "ste maxime", "83115", "name"),
    ("saint", "Ste-Foy-lès-Lyon", "69202", "name"),
    ("saint", "st. malo", "35288", "name"),
    ("saint", "stras", "67482", "name"),  # an unfinished "st..." is not only "saint"
    # a leading article may be left out
    ("article", "Le Mans", "72181", "name"),
    ("article", "mans", "72181", "name"),
    ("article", "havre", "76351", "name"),
    ("article", "rochelle", "17300", "name"),
    ("article", "abymes", "97101", "name"),
    ("article", "isle adam", "95313", "name"),
    ("article", "l'isle-adam", "95313", "name"),
    # lès, lez and les are one word
    ("les", "Saint-Paul-lez-Durance", "13099", "name"),
    ("les", "vandoeuvre les nancy", "54547", "name"),
    # the last word may be unfinished
    ("prefix", "st paul les dur", "13099", "name"),
    ("prefix", "saint paul les dur", "13099", "name"),
    ("prefix", "marsei", "13055", "name"),
    ("prefix", "toul", "54528", "name"),  # Toul itself, before Toulouse
    ("prefix", "toulo", "31555", "name"),
    ("prefix", "toulon", "83137", "name"),  # a whole name comes before a longer one
    ("prefix", "bordeau", "33063", "name"),
    ("prefix", "aix en p", "13001", "name"),
    ("prefix", "boulogne b", "92012", "name"),
    ("prefix", "boulogne sur m", "62160", "name"),
    # postal codes, whole or their first 2 to 4 digits
    ("postal code", "01200", "01033", "postal_code"),
    ("postal code", "13008", "13208", "postal_code"),
    ("postal code", "75015", "75115", "postal_code"),
    ("postal code", "74000", "74010", "postal_code"),
    ("postal code", "97400", "97411", "postal_code"),
    ("postal code", "13 008", "13208", "postal_code"),
    ("postal code", "130", "13055", "postal_code"),
    ("postal code", "69", "69123", "postal_code"),
    ("postal code", "2000", "2A004", "postal_code"),
    # INSEE codes: current, arrondissement, old
    ("insee code", "2A004", "2A004", "insee_code"),
    ("insee code", "2a004", "2A004", "insee_code"),
    ("insee code", "75056", "75056", "insee_code"),
    ("insee code", "69383", "69383", "insee_code"),
    ("insee code", "74011", "74010", "old_insee_code"),
    # Paris, Lyon and Marseille arrondissements as people write them
    ("arrondissement", "Paris 15", "75115", "arrondissement"),
    ("arrondissement", "Paris 15e", "75115", "arrondissement"),
    ("arrondissement", "paris 15eme", "75115", "arrondissement"),
    ("arrondissement", "Paris 15e Arrondissement", "75115", "arrondissement"),
    ("arrondissement", "paris 1er", "75101", "arrondissement"),
    ("arrondissement", "Marseille 13e arrondissement", "13213", "arrondissement"),
    ("arrondissement", "marseille 13", "13213", "arrondissement"),
    ("arrondissement", "Lyon 3", "69383", "arrondissement"),
    ("arrondissement", "lyon 3e arr", "69383", "arrondissement"),
    ("arrondissement", "75015 Paris", "75115", "arrondissement"),
    ("arrondissement", "13008 marseille", "13208", "arrondissement"),
    ("arrondissement", "paris", "75056", "name"),
    # old names of merged communes lead to today's commune
    ("old name", "Annecy-le-Vieux", "74010", "old_name"),
    ("old name", "cran gevrier", "74010", "old_name"),
    ("old name", "Bellegarde-sur-Valserine", "01033", "old_name"),
    ("old name", "Cherbourg-Octeville", "50129", "old_name"),
    ("old name", "seynod", "74010", "old_name"),
    # homonyms narrowed by a number
    ("homonym", "saint denis", "97411", "name"),
    ("homonym", "saint denis 93", "93066", "name"),
    ("homonym", "Saint-Denis (93)", "93066", "name"),
    ("homonym", "saint denis 974", "97411", "name"),
    ("homonym", "saint denis 93200", "93066", "name"),
    ("homonym", "saint pierre 975", "97502", "name"),
    ("homonym", "bellegarde 45", "45031", "name"),
    ("homonym", "la rochelle 70", "70450", "name"),
    # overseas and Corsica
    ("overseas", "fort de france", "97209", "name"),
    ("overseas", "mamoudzou", "97611", "name"),
    ("overseas", "ajaccio", "2A004", "name"),
    ("overseas", "bastia 2b", "2B033", "name"),
    ("overseas", "arro 2a", "2A022", "name"),  # "arro" begins "arrondissement", but before the number
]

# (what the patient types, INSEE code expected first): one typo in a word of 5+ letters
TYPOS = [
    ("marseile", "13055"),  # a letter missing
    ("nantse", "44109"),  # two neighbours swapped
    ("toulousse", "31555"),  # a letter extra
    ("strasbourj", "67482"),  # a letter wrong
    ("bordeuax", "33063"),
    ("montpelier", "34172"),
    ("grenble", "38185"),
    ("saint paul les durence", "13099"),
    ("st paul les durenc", "13099"),  # a typo in an unfinished last word
    ("chamoni mont blanc", "74056"),  # "chamoni" begins a word, but is none: a typo, as it is not the last
]


def search(client: httpx.Client, q: str, limit: int | None = None) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"q": q} if limit is None else {"q": q, "limit": limit}
    response = client.get("/v1/communes", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["communes"]


def test_the_table_covers_every_rule_with_at_least_60_queries() -> None:
    assert len(CASES) + len(TYPOS) >= 60
    assert len({q for _, q, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("rule", "q", "code", "kind"), CASES, ids=[f"{r}: {q}" for r, q, _, _ in CASES])
def test_what_a_patient_types_finds_the_commune_first(
    client: httpx.Client, rule: str, q: str, code: str, kind: str
) -> None:
    communes = search(client, q)
    assert communes, f"{rule}: nothing found for {q!r}"
    first = communes[0]
    assert (first["code"], first["matched"]["kind"], first["matched"]["typo"]) == (code, kind, False), [
        (c["code"], c["name"]) for c in communes
    ]


@pytest.mark.parametrize(("q", "code"), TYPOS)
def test_one_typo_in_a_long_word_is_forgiven_and_flagged(client: httpx.Client, q: str, code: str) -> None:
    first = search(client, q)[0]
    assert first["code"] == code
    assert first["matched"]["typo"] is True


def test_a_typo_in_a_short_word_is_not_forgiven(client: httpx.Client) -> None:
    assert "59350" not in [c["code"] for c in search(client, "lile", 50)]  # Lille: a 4-letter word
    assert "59350" in [c["code"] for c in search(client, "lilel", 50)]


def test_typo_matches_come_after_every_exact_match(client: httpx.Client) -> None:
    communes = search(client, "nante", 50)  # begins Nantes, Nanterre, Nanteuil...; one edit from "nance"...
    flags = [c["matched"]["typo"] for c in communes]
    assert flags[0] is False
    assert flags == sorted(flags)  # False... then True...


def test_homonyms_all_come_back_bigger_first_with_their_departement(client: httpx.Client) -> None:
    communes = search(client, "saint denis", 50)
    homonyms = [c for c in communes if c["name"] == "Saint-Denis"]
    assert [(c["code"], c["departement"]["code"]) for c in homonyms] == [
        ("97411", "974"),
        ("93066", "93"),
        ("11339", "11"),
        ("30247", "30"),
    ]
    assert communes[: len(homonyms)] == homonyms  # the whole name before longer names
    assert homonyms[0]["departement"]["name"] == "La Réunion"
    assert homonyms[1]["departement"]["name"] == "Seine-Saint-Denis"
    populations = [c["population"] for c in homonyms]
    assert populations == sorted(populations, reverse=True)


def test_an_old_name_is_flagged_with_the_name_that_matched(client: httpx.Client) -> None:
    first = search(client, "annecy le vieux")[0]
    assert first["code"] == "74010"
    assert first["name"] == "Annecy"
    assert first["matched"] == {"kind": "old_name", "value": "Annecy-le-Vieux", "typo": False}


def test_a_postal_code_shared_by_two_departements_gives_both(client: httpx.Client) -> None:
    communes = search(client, "01200", 50)
    assert {c["departement"]["code"] for c in communes} == {"01", "74"}
    assert all(c["matched"] == {"kind": "postal_code", "value": "01200", "typo": False} for c in communes[:9])


def test_one_answer_per_commune_and_the_limit_holds(client: httpx.Client) -> None:
    for q, limit in (("s", 50), ("saint", 7), ("paris", 3), ("13", 12), ("cra", 50)):
        communes = search(client, q, limit)
        codes = [c["code"] for c in communes]
        assert len(codes) == len(set(codes))
        assert len(codes) == limit, (q, limit)


def test_the_default_limit_is_10(client: httpx.Client) -> None:
    assert len(search(client, "saint")) == 10


def test_an_answer_holds_what_a_booking_screen_shows(client: httpx.Client) -> None:
    response = client.get("/v1/communes", params={"q": "Paris 15e"})
    assert response.json() == {
        "communes": [
            {
                "code": "75115",
                "name": "Paris 15e Arrondissement",
                "postal_codes": ["75015"],
                "departement": {"code": "75", "name": "Paris"},
                "region": {"code": "11", "name": "Île-de-France"},
                "population": 229713,
                "matched": {"kind": "arrondissement", "value": "Paris 15e Arrondissement", "typo": False},
            }
        ],
        "cog": "COG 2026",
    }


def test_overseas_and_corsican_communes_carry_their_departement_and_region(client: httpx.Client) -> None:
    (ajaccio,) = search(client, "ajaccio")
    assert ajaccio["departement"] == {"code": "2A", "name": "Corse-du-Sud"}
    assert ajaccio["region"] == {"code": "94", "name": "Corse"}
    saint_pierre = search(client, "saint pierre 975")[0]  # a COM: the COG gives it as its own région
    assert saint_pierre["region"] == {"code": "975", "name": "Saint-Pierre-et-Miquelon"}


@pytest.mark.parametrize("q", ["zzzzqqq", "75999", "99", "1", "marseille 75"])
def test_nothing_found_is_an_empty_list(client: httpx.Client, q: str) -> None:
    assert search(client, q) == []


INVALID = [
    ({"q": ""}, "q", "must not be empty"),
    ({"q": "a" * 200}, "q", "must not exceed 100 characters"),
    ({"q": "a" * 101}, "q", "must not exceed 100 characters"),
    ({"q": "saint\x00denis"}, "q", "must not contain control characters"),
    ({"q": "saint\ndenis"}, "q", "must not contain control characters"),
    ({"q": "saint\x85denis"}, "q", "must not contain control characters"),
    ({"q": "   "}, "q", "must contain a letter or a digit"),
    ({"q": "-'-"}, "q", "must contain a letter or a digit"),
    ({}, "q", "required: the text the patient typed"),
    ({"q": "paris", "limit": "0"}, "limit", "must be a whole number from 1 to 50"),
    ({"q": "paris", "limit": "51"}, "limit", "must be a whole number from 1 to 50"),
    ({"q": "paris", "limit": "ten"}, "limit", "must be a whole number from 1 to 50"),
    ({"q": "paris", "limit": "2.0"}, "limit", "must be a whole number from 1 to 50"),
    ({"q": "paris", "limit": "-1"}, "limit", "must be a whole number from 1 to 50"),
    ({"q": "paris", "limit": "9" * 5000}, "limit", "must be a whole number from 1 to 50"),
    ({"q": "paris", "limt": "5"}, "limt", "unknown parameter; known: q, limit"),
]


@pytest.mark.parametrize(("params", "parameter", "detail"), INVALID, ids=[str(i) for i in range(len(INVALID))])
def test_bad_input_is_a_422_naming_the_parameter(
    client: httpx.Client, params: dict[str, str], parameter: str, detail: str
) -> None:
    response = client.get("/v1/communes", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:territorialite:problem:invalid-request"
    assert body["errors"] == [{"parameter": parameter, "detail": detail}]
    assert "saint" not in response.text  # the answer never quotes what was typed


def test_a_repeated_parameter_is_refused(client: httpx.Client) -> None:
    response = client.get("/v1/communes?q=paris&q=lyon")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"parameter": "q", "detail": "give this parameter once"}]


def test_every_bad_parameter_is_named_at_once(client: httpx.Client) -> None:
    response = client.get("/v1/communes", params={"limit": "0", "x": "1"})
    assert response.status_code == 422
    assert {e["parameter"] for e in response.json()["errors"]} == {"x", "q", "limit"}


def test_parameter_errors_are_bounded_whatever_the_query_string(client: httpx.Client) -> None:
    repeated = client.get("/v1/communes?" + "&".join(["q=a"] * 2_000))
    assert repeated.status_code == 422
    assert repeated.json()["errors"] == [{"parameter": "q", "detail": "give this parameter once"}]
    unknown = client.get("/v1/communes?q=lyon&" + "&".join(f"x{i}=1" for i in range(500)))
    assert unknown.status_code == 422
    assert len(unknown.json()["errors"]) == 100
    assert unknown.json()["error_count"] == 500

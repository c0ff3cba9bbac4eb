"""The commune search index, in-process, on the real geodata: every commune found by its own name,
every old name by its commune, the query parser and the typo generator. The typed rules, one by
one, are in tests/web/test_communes_api.py (against a real server)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geography import Geography
from app.geography.loader import DEFAULT_GEODATA_DIR
from app.geography.search import (
    OLD_NAMES_FILE,
    CommuneIndex,
    MatchKind,
    Query,
    fold,
    keys_of,
    name_words,
    parse_query,
    read_old_names,
    typo_variants,
)


@pytest.fixture(scope="module")
def index(geography: Geography) -> CommuneIndex:
    return CommuneIndex.from_geodata(geography, DEFAULT_GEODATA_DIR)


def test_every_commune_is_found_by_its_own_name(index: CommuneIndex, geography: Geography) -> None:
    lost = [
        c.code for c in geography.communes.values() if c.code not in {h.commune.code for h in index.search(c.name, 50)}
    ]
    assert lost == []


def test_every_commune_is_found_by_its_insee_code_and_postal_codes(index: CommuneIndex, geography: Geography) -> None:
    for commune in geography.communes.values():  # after the communes of the same postal code, if any
        assert commune.code in {h.commune.code for h in index.search(commune.code, 50)}
    for postal in geography.postal_codes.values():
        assert {h.commune.code for h in index.search(postal.code, 50)} >= set(postal.communes)


def test_every_old_name_leads_to_todays_commune(index: CommuneIndex, geography: Geography) -> None:
    old_names = read_old_names(DEFAULT_GEODATA_DIR / OLD_NAMES_FILE)
    assert len(old_names) > 2_000
    for old in old_names:
        hits = {h.commune.code: h for h in index.search(old.name, 50)}
        assert old.current_code in hits, old
        if hits[old.current_code].kind is MatchKind.OLD_NAME:
            assert hits[old.current_code].matched == old.name


def test_old_names_file_is_sorted_and_points_to_current_communes(geography: Geography) -> None:
    old_names = read_old_names(DEFAULT_GEODATA_DIR / OLD_NAMES_FILE)
    rows = [(o.old_code, o.name, o.current_code) for o in old_names]
    assert rows == sorted(set(rows))
    assert all(o.current_code in geography.communes for o in old_names)
    assert all(o.name != geography.communes[o.current_code].name for o in old_names)


def test_old_insee_codes_lead_to_todays_commune(index: CommuneIndex, geography: Geography) -> None:
    for old, current in geography.aliases.items():
        hit = index.search(old, 50)
        assert current in {h.commune.code for h in hit}, old


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Saint-Étienne", ["saint", "etienne"]),
        ("  L’Haÿ-les-Roses ", ["l", "hay", "les", "roses"]),
        ("Cœuvres-et-Valsery", ["coeuvres", "et", "valsery"]),
        ("ÆBLE", ["aeble"]),
        ("Bors (Canton de Tude-et-Lavalette)", ["bors", "canton", "de", "tude", "et", "lavalette"]),
        ("\u00a0Paris\u200b15e", ["paris", "15e"]),
        ("", []),
    ],
)
def test_fold(text: str, words: list[str]) -> None:
    assert fold(text) == words


def test_names_are_found_with_and_without_their_article() -> None:
    assert keys_of(name_words("L'Isle-Adam")) == ("lisleadam", "isleadam")
    assert keys_of(name_words("Le Mans")) == ("lemans", "mans")
    assert keys_of(name_words("Saint-Paul-lès-Durance")) == ("saintpaullesdurance",)
    assert keys_of(name_words("Les")) == ("les",)  # a lone article is a name


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Paris 15e Arrondissement", Query(("paris",), ("15",))),
        ("marseille 13 e arr", Query(("marseille",), ("13",))),
        ("13 008 Marseille", Query(("marseille",), ("13008",))),
        ("75015 paris 1er", Query(("paris",), ("75015", "1"))),
        ("Saint-Denis (93)", Query(("saint", "denis"), ("93",))),
        ("ajaccio 2A", Query(("ajaccio",), ("2a",))),
        ("arrondissement", Query(("arrondissement",), ())),  # a word, when no number comes before
        ("arro 2a", Query(("arro",), ("2a",))),  # Arro, Corse-du-Sud
        ("paris 15 e arr", Query(("paris",), ("15",))),
        ("e 15", Query(("e",), ("15",))),  # an ordinal only after its number
        ("123456", Query(("123456",), ())),  # no number has more than 5 digits
    ],
)
def test_parse_query(text: str, query: Query) -> None:
    assert parse_query(text) == query


def test_typo_variants_are_one_edit_away() -> None:
    variants = typo_variants("nantse")
    assert {"nantes", "nante", "nantsee", "mantse"} <= variants
    assert "nantse" not in variants
    assert "nates" not in variants  # two edits
    assert len(variants) <= 54 * 6 + 25


@given(text=st.text(max_size=100), limit=st.integers(min_value=1, max_value=50))
def test_any_text_gives_at_most_limit_distinct_communes(index: CommuneIndex, text: str, limit: int) -> None:
    codes = [h.commune.code for h in index.search(text, limit)]
    assert len(codes) <= limit
    assert len(codes) == len(set(codes))


@given(text=st.text(alphabet="aeilnorstu 0123-'", max_size=30))
def test_typed_looking_text_never_fails(index: CommuneIndex, text: str) -> None:
    hits = index.search(text, 10)
    assert all(h.commune.code in index.geography.communes for h in hits)


def test_names_without_a_word_to_correct_still_answer_a_typo_query(geography: Geography) -> None:
    """No name with a word of 4 letters or more (Eu, Y): nothing to correct a typo with, no error."""
    few = dataclasses.replace(geography, communes={code: geography.communes[code] for code in ("76255", "80829")})
    index = CommuneIndex(few, old_names=[])
    assert index.search("eurex", 10) == []
    assert [hit.commune.code for hit in index.search("eu", 10)] == ["76255"]

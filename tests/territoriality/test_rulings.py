from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from app.territoriality.rulings import Aspect, load_catalogue

CATALOGUE = load_catalogue()
FAQ = Path(__file__).resolve().parents[2] / "docs/reference/ans-faq-teleconsultation.txt"

FACT_VALUES: dict[str, list[str | bool]] = {
    "channel": ["video", "phone", "phone_to_video"],
    "location": ["given", "declined", "not_offered", "not_given", "outside_france"],
    "message_shown": [True, False],
    "location_input_offered": [True, False],
    "walk_in_after_appointments": [True, False],
    "offer": ["with_appointment", "without_appointment"],
    "walk_in_exempt": [True, False],
    "proposals": ["given", "not_given"],
    "territorial": ["first", "not_first", "none"],
    "order": ["respected", "violated"],
    "certain": [True, False],
    "available": ["yes", "no", "unknown"],
    "any_fail": [True, False],
    "any_inconclusive": [True, False],
}


def all_facts():  # noqa: ANN201
    names = list(FACT_VALUES)
    for values in itertools.product(*FACT_VALUES.values()):
        yield dict(zip(names, values, strict=True))


@pytest.mark.parametrize("check", sorted(CATALOGUE.decisions))
def test_every_decision_list_answers_every_combination_of_facts(check: str) -> None:
    for facts in all_facts():
        CATALOGUE.decide(check, facts)  # raises LookupError on a gap


def test_every_check_rule_cites_a_known_ruling() -> None:
    for aspect in Aspect:
        for row in CATALOGUE.decisions[aspect]:
            assert row.ruling in CATALOGUE.rulings
            assert row.reason


def test_quotes_are_word_for_word_from_the_faq() -> None:
    faq = " ".join(FAQ.read_text(encoding="utf-8").split())
    for ruling in CATALOGUE.rulings.values():
        if ruling.kind == "source":
            assert ruling.quote
            for part in ruling.quote.split("[...]"):
                assert " ".join(part.split()) in faq, ruling.id


def test_project_choices_are_marked_as_such() -> None:
    for ruling in CATALOGUE.rulings.values():
        assert ruling.kind == ("project_choice" if ruling.id.startswith("P-") else "source"), ruling.id
        assert (ruling.quote is None) == (ruling.kind == "project_choice"), ruling.id
    assert {r for r in CATALOGUE.rulings if r.startswith("FAQ-")} == {f"FAQ-TLC-{i}" for i in range(1, 8)}

"""The rulings catalogue (rulings.yaml): the sources verdicts cite, and the decision rules as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from app import resources

CATALOGUE_FILE = resources.package_file("app.territoriality", "rulings.yaml")
Facts = Mapping[str, str | bool]


class Aspect(StrEnum):
    """What a check of a scenario looks at."""

    INFORMATION_MESSAGE = "information_message"
    LOCATION_INPUT = "location_input"
    ORDERING = "ordering"


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # depends on a fact the caller did not give
    NOT_APPLICABLE = "not_applicable"


class Verdict(StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    INCONCLUSIVE = "inconclusive"
    OUT_OF_SCOPE = "out_of_scope"


class MissingFact(StrEnum):
    """A fact an inconclusive check needs, which the caller can give."""

    PROPOSALS = "proposals"  # the physicians shown for the offer, in order
    TERRITORIAL_PHYSICIAN_AVAILABLE = "territorial_physician_available"
    PATIENT_LOCATION = "patient_location"  # given, or stated declined
    DECIDING_LOCATION = "deciding_location"  # the location the outcome hinges on (the check says whose)


class RulingKind(StrEnum):
    SOURCE = "source"
    PROJECT_CHOICE = "project_choice"


VERDICT_LIST = "verdict"
TERRITORIALITY_LIST = "territoriality"
Outcome = CheckStatus | Verdict | bool


@dataclass(frozen=True, slots=True)
class Ruling:
    id: str
    kind: RulingKind
    requirement: str
    summary: str
    quote: str | None
    source: str
    # What a failure citing this ruling rests on. A quoted source applied through a project choice
    # (which physicians are near: the policy's; a sentence read beyond its context) is not the
    # FAQ's verdict alone: such a failure rests on the project's reading.
    failure_basis: RulingKind


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of a decision list: when the facts match `when`, this decides."""

    when: Mapping[str, str | bool]
    outcome: Outcome  # a check status, a verdict, or whether territoriality applies
    ruling: str | None
    reason: str
    missing: MissingFact | None = None  # what an inconclusive check lacks

    def matches(self, facts: Facts) -> bool:
        return all(facts.get(name) == value for name, value in self.when.items())


@dataclass(frozen=True)
class Catalogue:
    version: str
    source_document: str
    rulings: Mapping[str, Ruling]
    requirements: Mapping[Aspect, str]  # the requirement each aspect of a scenario verifies
    decisions: Mapping[str, tuple[Decision, ...]]  # per aspect, plus the verdict and territoriality lists
    # the rules are data: the same facts always get the same decision, so each is looked up once
    _decided: dict[tuple[object, ...], Decision] = field(default_factory=dict, repr=False, compare=False)

    def decide(self, decision_list: str, facts: Facts) -> Decision:
        key = (decision_list, *sorted(facts.items()))
        decided = self._decided.get(key)
        if decided is None:
            decided = self._decided[key] = self._first_match(decision_list, facts)
        return decided

    def _first_match(self, decision_list: str, facts: Facts) -> Decision:
        for decision in self.decisions[decision_list]:
            if decision.matches(facts):
                return decision
        raise LookupError(f"no rule of {decision_list!r} matches {dict(facts)}")  # a gap in rulings.yaml

    def check(self, aspect: Aspect, facts: Facts) -> Decision:
        """The rule deciding one check: its `outcome` is a CheckStatus, and it cites a ruling."""
        decision = self.decide(aspect, facts)
        assert isinstance(decision.outcome, CheckStatus)
        assert decision.ruling is not None, f"every {aspect} rule cites a ruling"
        return decision

    def verdict(self, facts: Facts) -> tuple[Verdict, str | None]:
        decision = self.decide(VERDICT_LIST, facts)
        assert isinstance(decision.outcome, Verdict)
        return decision.outcome, decision.ruling

    def territoriality_applies(self, facts: Facts) -> bool:
        decision = self.decide(TERRITORIALITY_LIST, facts)
        assert isinstance(decision.outcome, bool)
        return decision.outcome


@cache
def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rulings = {r["id"]: _ruling(r) for r in data["rulings"]}
    decisions = {name: tuple(_decision(name, row) for row in rows) for name, rows in data["decisions"].items()}
    requirements = {Aspect(aspect): requirement for aspect, requirement in data["aspects"].items()}
    _check_lists(requirements, decisions)
    _check_citations(rulings, decisions)
    return Catalogue(str(data["version"]), data["source_document"], rulings, requirements, decisions)


def _ruling(fields: Mapping[str, Any]) -> Ruling:
    kind = RulingKind(fields["kind"])
    failure_basis = RulingKind(fields.get("failure_basis", kind))
    return Ruling(**{**fields, "kind": kind, "failure_basis": failure_basis})


def _decision(name: str, row: dict[str, Any]) -> Decision:
    outcome: Outcome
    if name == VERDICT_LIST:
        outcome = Verdict(row["verdict"])
    elif name == TERRITORIALITY_LIST:
        outcome = bool(row["applies"])
    else:
        outcome = CheckStatus(row["status"])
    missing = MissingFact(row["missing"]) if "missing" in row else None
    if (outcome is CheckStatus.INCONCLUSIVE) != (missing is not None):
        raise ValueError(f"rulings.yaml, {name}: an inconclusive rule, and only it, names the missing fact: {row}")
    return Decision(row.get("when") or {}, outcome, row.get("ruling"), row.get("reason", ""), missing)


def _check_lists(requirements: Mapping[Aspect, str], decisions: Mapping[str, tuple[Decision, ...]]) -> None:
    expected = {*Aspect, VERDICT_LIST, TERRITORIALITY_LIST}
    if set(decisions) != expected or set(requirements) != set(Aspect):
        raise ValueError(f"rulings.yaml must hold the decision lists {sorted(expected)} and a requirement per aspect")


def _check_citations(rulings: Mapping[str, Ruling], decisions: Mapping[str, tuple[Decision, ...]]) -> None:
    cited = {d.ruling for rows in decisions.values() for d in rows if d.ruling}
    unknown = cited - set(rulings)
    if unknown:
        raise ValueError(f"rulings.yaml cites unknown rulings: {sorted(unknown)}")

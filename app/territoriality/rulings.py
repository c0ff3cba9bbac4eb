"""The rulings catalogue (rulings.yaml): the sources verdicts cite, and the decision rules as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_FILE = Path(__file__).with_name("rulings.yaml")
Facts = Mapping[str, str | bool]


@dataclass(frozen=True, slots=True)
class Ruling:
    id: str
    kind: str  # source | project_choice
    requirement: str
    summary: str
    quote: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of a decision list: when the facts match `when`, this decides."""

    when: Mapping[str, str | bool]
    outcome: str  # a check status, or a verdict
    ruling: str | None
    reason: str

    def matches(self, facts: Facts) -> bool:
        return all(facts.get(name) == value for name, value in self.when.items())


@dataclass(frozen=True)
class Catalogue:
    version: str
    source_document: str
    rulings: Mapping[str, Ruling]
    decisions: Mapping[str, tuple[Decision, ...]]

    def decide(self, check: str, facts: Facts) -> Decision:
        for decision in self.decisions[check]:
            if decision.matches(facts):
                return decision
        raise LookupError(f"no rule of {check!r} matches {dict(facts)}")  # a gap in rulings.yaml


@cache
def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rulings = {r["id"]: Ruling(**r) for r in data["rulings"]}
    decisions = {check: tuple(_decision(row) for row in rows) for check, rows in data["decisions"].items()}
    _check_citations(rulings, decisions)
    return Catalogue(str(data["version"]), data["source_document"], rulings, decisions)


def _decision(row: dict[str, Any]) -> Decision:
    return Decision(
        when=row.get("when") or {},
        outcome=row.get("status") or row["verdict"],
        ruling=row.get("ruling"),
        reason=row.get("reason", ""),
    )


def _check_citations(rulings: Mapping[str, Ruling], decisions: Mapping[str, tuple[Decision, ...]]) -> None:
    cited = {d.ruling for rows in decisions.values() for d in rows if d.ruling}
    unknown = cited - set(rulings)
    if unknown:
        raise ValueError(f"rulings.yaml cites unknown rulings: {sorted(unknown)}")

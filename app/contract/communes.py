"""GET /v1/communes, the contract: query-string pairs -> a search, or a problem naming each bad
parameter (`parse_search`); hits -> the documented JSON (`present`). Nothing typed is logged:
the access log holds the route, never the query string."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from app.contract.limits import DEFAULT_COMMUNES, MAX_COMMUNES, MAX_FIELD_ERRORS, MAX_QUERY_CHARACTERS
from app.contract.problems import ParameterError, ProblemError
from app.geography import Geography
from app.geography.search import OLD_NAMES_FILE, CommuneHit, CommuneIndex, checked_old_names, read_old_names

PARAMETERS = ("q", "limit")


@dataclass(frozen=True, slots=True)
class CommuneSearch:
    q: str
    limit: int = DEFAULT_COMMUNES

    def __repr__(self) -> str:
        return f"CommuneSearch(q=<redacted>, limit={self.limit})"  # what a patient types is personal data


def parse_search(pairs: Iterable[tuple[str, str]]) -> CommuneSearch:
    """The query string's (name, value) pairs -> a search; every bad parameter is named."""
    values: dict[str, str] = {}
    errors: list[ParameterError] = []
    refused: dict[str, str] = {}  # each name said once, however often it comes
    for name, value in pairs:
        if name not in PARAMETERS:
            refused.setdefault(name, "unknown parameter; known: q, limit")
        elif name in values:
            refused.setdefault(name, "give this parameter once")
        else:
            values[name] = value
    errors.extend(ParameterError(name, detail) for name, detail in refused.items())
    q_problem = query_problem(values.get("q"))
    if q_problem:
        errors.append(ParameterError("q", q_problem))
    limit = values.get("limit", str(DEFAULT_COMMUNES))
    limit_ok = limit.isascii() and limit.isdigit() and len(limit) <= 3 and 1 <= int(limit) <= MAX_COMMUNES
    if not limit_ok:
        errors.append(ParameterError("limit", f"must be a whole number from 1 to {MAX_COMMUNES}"))
    if errors:
        raise ProblemError(
            "invalid-request",
            f"{len(errors)} invalid parameter(s)",
            parameters=errors[:MAX_FIELD_ERRORS],
            error_count=len(errors),
        )
    return CommuneSearch(values["q"], int(limit))


def query_problem(q: str | None) -> str | None:
    """Why `q` cannot be searched, never quoting it; None when it can."""
    if q is None:
        return "required: the text the patient typed"
    if not q:
        return "must not be empty"
    if len(q) > MAX_QUERY_CHARACTERS:
        return f"must not exceed {MAX_QUERY_CHARACTERS} characters"
    if any(unicodedata.category(c) == "Cc" for c in q):
        return "must not contain control characters"
    if not any(c.isalnum() for c in q):
        return "must contain a letter or a digit"
    return None


def present(hits: list[CommuneHit], geography: Geography) -> dict[str, object]:
    return {"communes": [commune_found(h, geography) for h in hits], "cog": geography.vintage["cog"]}


def commune_found(hit: CommuneHit, geography: Geography) -> dict[str, object]:
    commune = hit.commune
    departement = geography.departements[commune.departement]
    region = geography.regions.get(commune.region) if commune.region else None
    return {
        "code": commune.code,
        "name": commune.name,
        "postal_codes": list(commune.postal_codes),
        "departement": {"code": departement.code, "name": departement.name},
        "region": {"code": region.code, "name": region.name} if region else None,
        "population": commune.population,
        "matched": {"kind": hit.kind.value, "value": hit.matched, "typo": hit.typo},
    }


def index_builder(geography: Geography, geodata_dir: Path) -> Callable[[], CommuneIndex]:
    """What builds the commune search's index, when called: its one file read and checked against
    the geography now, so that a missing, unreadable or wrong one stops a start as any geodata file
    does (OSError, OldNamesError)."""
    old_names = checked_old_names(geography, read_old_names(geodata_dir / OLD_NAMES_FILE))
    return functools.partial(CommuneIndex, geography, old_names)


def answer(index: CommuneIndex, asked: CommuneSearch) -> dict[str, object]:
    """The answer to GET /v1/communes for a search `parse_search` read."""
    return present(index.search(asked.q, asked.limit), index.geography)

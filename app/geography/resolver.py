"""The reference geography: look-ups by INSEE code, postal code and point; adjacency; régions.

Every look-up answers a typed result; input that cannot be resolved gives `NotFound`, never an
exception, whatever the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.geography.codes import normalise_commune_code, normalise_postal_code
from app.geography.locator import PointLocator
from app.geography.model import Commune, Departement, Point, PointLocation, PostalCode, Region


class NotFoundReason(StrEnum):
    MALFORMED = "malformed"  # cannot be a code of that kind
    UNKNOWN = "unknown"  # well formed, but no such code in the reference


@dataclass(frozen=True, slots=True)
class NotFound:
    reason: NotFoundReason


@dataclass(frozen=True, slots=True)
class CommuneMatch:
    commune: Commune  # today's commune, or the municipal arrondissement asked for
    requested_code: str
    via_old_code: bool

    @property
    def city_code(self) -> str:
        """The commune itself: the city for a municipal arrondissement."""
        return self.commune.parent or self.commune.code


@dataclass(frozen=True, slots=True)
class SearchRadius:
    default_km: float
    enlargement_km: float


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per process
class Geography:
    communes: dict[str, Commune]
    aliases: dict[str, str]
    postal_codes: dict[str, PostalCode]
    departements: dict[str, Departement]
    regions: dict[str, Region]
    adjacency: dict[str, frozenset[str]]
    search_radii: dict[str, SearchRadius]
    locator: PointLocator
    vintage: dict[str, str]
    region_members: dict[str, frozenset[str]] = field(init=False)  # derived from départements

    def __post_init__(self) -> None:
        members: dict[str, set[str]] = {}
        for departement in self.departements.values():
            if departement.region:
                members.setdefault(departement.region, set()).add(departement.code)
        object.__setattr__(self, "region_members", {r: frozenset(m) for r, m in members.items()})

    def commune(self, text: str) -> CommuneMatch | NotFound:
        """INSEE code, current, of a municipal arrondissement, or old (merged commune) -> today's commune."""
        exact = self.communes.get(text)  # the common case, typed as it should be
        if exact is not None:
            return CommuneMatch(exact, text, via_old_code=False)
        code = normalise_commune_code(text)
        if code is None:
            return NotFound(NotFoundReason.MALFORMED)
        if code in self.communes:
            return CommuneMatch(self.communes[code], code, via_old_code=False)
        if code in self.aliases:
            return CommuneMatch(self.communes[self.aliases[code]], code, via_old_code=True)
        return NotFound(NotFoundReason.UNKNOWN)

    def postal_code(self, text: str) -> PostalCode | NotFound:
        code = normalise_postal_code(text)
        if code is None:
            return NotFound(NotFoundReason.MALFORMED)
        return self.postal_codes.get(code) or NotFound(NotFoundReason.UNKNOWN)

    def locate(self, point: Point) -> PointLocation:
        return self.locator.locate(point)

    def locate_many(self, points: Sequence[Point]) -> list[PointLocation]:
        return self.locator.locate_many(points)

    def neighbours(self, departement: str) -> frozenset[str]:
        return self.adjacency.get(departement, frozenset())

    def region_of(self, departement: str) -> str | None:
        known = self.departements.get(departement)
        return known.region if known else None

    def departements_of_region(self, region: str) -> frozenset[str]:
        return self.region_members.get(region, frozenset())

"""Value objects of the reference geography. Immutable; loaded once by `loader`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS84 point in degrees. Its repr hides the position: a patient's location is personal data."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError("latitude must lie in [-90, 90] and longitude in [-180, 180]")

    def __repr__(self) -> str:
        return "Point(<redacted>)"


@dataclass(frozen=True, slots=True)
class Commune:
    code: str
    name: str
    departement: str
    region: str | None
    postal_codes: tuple[str, ...]
    population: int
    point: Point | None
    point_source: str
    parent: str | None  # the city (75056, 69123, 13055) of a municipal arrondissement


@dataclass(frozen=True, slots=True)
class PostalCode:
    code: str
    communes: tuple[str, ...]
    departements: tuple[str, ...]
    point: Point


@dataclass(frozen=True, slots=True)
class Departement:
    code: str
    name: str
    region: str | None
    zone: str  # metro, drom or com (COG zones)


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str


class PointPlacement(StrEnum):
    """How a point was tied to a département."""

    NEAREST_COMMUNE = "nearest_commune"  # on French land: the département of the nearest commune point
    NEAR_COAST = "near_coast"  # at sea, French land being the nearest land within the offshore limit
    OUTSIDE_FRANCE = "outside_france"


@dataclass(frozen=True, slots=True)
class PointLocation:
    departement: str | None
    nearest_commune: str | None
    placement: PointPlacement

    @property
    def in_france(self) -> bool:
        return self.departement is not None

"""From what a platform sends (INSEE code, postal code, coordinates) to a place in the geography.

Project rule (policy-independent, documented in openapi.yaml and the README):
- the département comes from the commune code when given, else from the postal code, else from
  the coordinates: administrative codes come from the COG, a point is placed by the locator;
- the point used for distances is the coordinates when given, else the commune's point, else the
  postal code's point: the most precise wins;
- a pair that disagrees (a commune outside the postal code, coordinates in another département)
  is kept, and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.geography import CommuneMatch, Geography, NotFound, NotFoundReason, Point, PointLocation


class LocationField(StrEnum):
    COMMUNE = "commune"
    POSTAL_CODE = "postal_code"
    COORDINATES = "coordinates"


class WarningCode(StrEnum):
    """What a warning about a location says; openapi.yaml's `Warning.code` lists the same."""

    PHYSICIAN_UNLOCATED = "physician_unlocated"
    PHYSICIAN_OUTSIDE_FRANCE = "physician_outside_france"
    SEVERAL_DEPARTEMENTS = "several_departements"
    INCONSISTENT_LOCATION = "inconsistent_location"
    OLD_COMMUNE_CODE = "old_commune_code"


@dataclass(frozen=True, slots=True)
class LocationInput:
    commune: str | None = None
    postal_code: str | None = None
    coordinates: Point | None = None

    def __repr__(self) -> str:
        return "LocationInput(<redacted>)"


@dataclass(frozen=True, slots=True)
class LocationNote:
    field: LocationField
    code: WarningCode
    detail: str


@dataclass(frozen=True, slots=True)
class Place:
    departements: tuple[str, ...]  # empty: outside France
    commune: str | None
    point: Point | None
    decided_by: LocationField
    notes: tuple[LocationNote, ...] = field(default=())

    @property
    def in_france(self) -> bool:
        return bool(self.departements)

    def __repr__(self) -> str:
        return "Place(<redacted>)"


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Why a location could not be placed. `reason` None: no field was given at all (a physician of a
    FHIR bundle whose role has no practice site; the plain API's schema requires a field); `field`
    then names the one the rule reads first, as a 422 names a missing field."""

    field: LocationField
    reason: NotFoundReason | None

    @property
    def detail(self) -> str:
        if self.reason is None:
            return "no location given (no commune, postal code nor coordinates)"
        kind = "INSEE commune code" if self.field is LocationField.COMMUNE else "postal code"
        if self.reason is NotFoundReason.MALFORMED:
            return f"not a valid {kind}"
        return f"no such {kind} in the reference geography (COG 2026, with old codes of merged communes)"


def resolve_location(
    geography: Geography, location: LocationInput, located: PointLocation | None = None
) -> Place | Unresolved:
    """`located`: the coordinates' location when the caller already has it (located in bulk)."""
    return _resolve(geography, location, located)


NOTHING_GIVEN = Unresolved(LocationField.COMMUNE, None)


def _resolve(geography: Geography, location: LocationInput, located: PointLocation | None = None) -> Place | Unresolved:
    if location.commune is None and location.postal_code is None and location.coordinates is None:
        return NOTHING_GIVEN
    commune = geography.commune(location.commune) if location.commune is not None else None
    if isinstance(commune, NotFound):
        return Unresolved(LocationField.COMMUNE, commune.reason)
    postal = geography.postal_code(location.postal_code) if location.postal_code is not None else None
    if isinstance(postal, NotFound):
        return Unresolved(LocationField.POSTAL_CODE, postal.reason)
    if located is None and location.coordinates is not None:
        located = geography.locate(location.coordinates)

    notes: list[LocationNote] = []
    departements: tuple[str, ...]
    commune_code: str | None
    if commune is not None:
        departements, decided_by, commune_code = (
            (commune.commune.departement,),
            LocationField.COMMUNE,
            commune.city_code,
        )
        if commune.via_old_code:
            notes.append(
                LocationNote(
                    LocationField.COMMUNE,
                    WarningCode.OLD_COMMUNE_CODE,
                    f"old code of a merged commune, read as today's {commune.commune.code}",
                )
            )
        if postal is not None and not _commune_in_postal_code(commune, postal.communes, geography):
            notes.append(
                LocationNote(
                    LocationField.POSTAL_CODE,
                    WarningCode.INCONSISTENT_LOCATION,
                    "the commune is not served by this postal code; the commune decides",
                )
            )
    elif postal is not None:
        departements, decided_by = postal.departements, LocationField.POSTAL_CODE
        commune_code = _single_city(postal.communes, geography)
    else:
        assert located is not None, "a location without any field is NOTHING_GIVEN"
        departements = (located.departement,) if located.departement else ()
        decided_by, commune_code = LocationField.COORDINATES, located.nearest_commune

    if located is not None and decided_by is not LocationField.COORDINATES and located.departement not in departements:
        notes.append(
            LocationNote(
                LocationField.COORDINATES,
                WarningCode.INCONSISTENT_LOCATION,
                "the coordinates lie outside the département given by the codes; the codes decide",
            )
        )
    point = location.coordinates or (commune.commune.point if commune else None) or (postal.point if postal else None)
    return Place(departements, commune_code, point, decided_by, tuple(notes))


def commune_places(geography: Geography) -> dict[str, Place]:
    """The place of every commune code as typed canonically (current, arrondissement, old), from the
    geodata alone."""
    codes = [*geography.communes, *geography.aliases]
    places = {code: _resolve(geography, LocationInput(commune=code)) for code in codes}
    return {code: place for code, place in places.items() if isinstance(place, Place)}


def _commune_in_postal_code(match: CommuneMatch, served: tuple[str, ...], geography: Geography) -> bool:
    return match.commune.code in served or match.city_code in _cities(served, geography)


def _single_city(codes: tuple[str, ...], geography: Geography) -> str | None:
    cities = _cities(codes, geography)
    return cities.pop() if len(cities) == 1 else None


def _cities(codes: tuple[str, ...], geography: Geography) -> set[str]:
    """The communes of these codes, an arrondissement counting as its city."""
    return {geography.communes[code].parent or code for code in codes}

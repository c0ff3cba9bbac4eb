"""From a searchset Bundle to the roster the ranking engine takes: one candidate per PractitionerRole.

The rule (documented in openapi.yaml, `POST /v1/rankings/fhir`):
1. Every PractitionerRole entry is a candidate, in bundle order. Its practitioner, organisation and
   Locations are found by following its references inside the bundle (FHIR R4 §2.36.4.1: "#id" in
   `contained`; an absolute reference by fullUrl; "Type/id" against the RESTful base of the
   referring entry's fullUrl). Project choice: when that finds nothing, the one entry of that type
   and id is taken (bundles assembled by hand often carry no fullUrl). A reference that still
   points nowhere is reported, never fatal.
2. Practice sites, in order: the Locations the role references, then its Organization (addresses
   in order, skipping `use: old` and `type: postal`). The first site that locates the role wins.
3. In an address: the INSEE code (FR Core extension) when the reference geography knows it; else
   the postal code, and when it serves several communes, the `city` to single one out; else the
   coordinates (Location.position, or the geolocation extension of the address). Coordinates given
   with a code make the point used for distances, as for any roster. An unknown code is reported
   and the next element is used; when none is left the engine reports the role unlocated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from app.contract.fhir.models import (
    GEOLOCATION_EXTENSION,
    INSEE_CODE_EXTENSIONS,
    LOCATION,
    ORGANIZATION,
    PRACTITIONER,
    Address,
    Bundle,
    BundleEntry,
    Coordinate,
    Identifier,
    InseeCoding,
    Location,
    Organization,
    Practitioner,
    PractitionerRole,
    Reference,
    Resource,
)
from app.contract.fhir.names import name_key
from app.contract.limits import MAX_PHYSICIANS
from app.contract.problems import FieldError, ProblemError, invalid_fields, pointer
from app.geography import CommuneMatch, Geography, NotFound, Point
from app.territoriality.locations import LocationField, LocationInput

Path = tuple[str | int, ...]  # a path into the request body; presenters make it a JSON pointer

# Identifier systems (IG examples PP19DP-Practitioner, PP19DP-Organization-EG-CH; API documentation).
IDNAT_PS_SYSTEMS = frozenset({"urn:oid:1.2.250.1.71.4.2.1"})
RPPS_SYSTEMS = frozenset({"https://rpps.esante.gouv.fr", "http://rpps.fr"})
IDNAT_STRUCT_SYSTEMS = frozenset({"urn:oid:1.2.250.1.71.4.2.2"})

# A role with no practice site to read is handed to the one engine with a commune code that cannot
# exist (there is no département 00): the engine ranks it last as `unlocated`, and its warning is
# replaced by one naming what is missing.
NOWHERE = LocationInput(commune="00000")

_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _type_and_id(reference: str) -> tuple[str, str] | None:
    """'Organization/123' -> ('Organization', '123'); None when the text is not of that form."""
    kind, _, identifier = reference.partition("/")
    return (kind, identifier) if _TYPE.fullmatch(kind) and _ID.fullmatch(identifier) else None


def _restful_base(full_url: str | None) -> str | None:
    """'https://host/fhir/v2/PractitionerRole/1' -> 'https://host/fhir/v2'; None for a urn or no fullUrl.
    String splits, not a backtracking pattern: the text is the client's."""
    if not full_url or not full_url.startswith(("https://", "http://")):
        return None
    base, _, tail = full_url.partition("/_history/")[0].rpartition("/")
    base, _, kind = base.rpartition("/")
    return base if _TYPE.fullmatch(kind) and _ID.fullmatch(tail) and "://" in base else None


@dataclass(frozen=True, slots=True)
class RoleNote:
    at: Path
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class PractitionerSummary:
    id: str | None
    rpps: str | None
    idnat_ps: str | None


@dataclass(frozen=True, slots=True)
class OrganizationSummary:
    id: str | None
    name: str | None
    idnat_struct: str | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One PractitionerRole, as the engine sees it (`location`) and as the answer names it."""

    entry: int
    id: str | None
    practitioner: PractitionerSummary | None
    organization: OrganizationSummary | None
    location: LocationInput
    sources: Mapping[LocationField, Path]  # the element each field of `location` was read from
    site: Path | None  # the address (or Location) the role was located by
    notes: tuple[RoleNote, ...]

    @property
    def path(self) -> Path:
        return ("bundle", "entry", self.entry, "resource")


@dataclass(frozen=True, slots=True)
class Found:
    resource: Resource
    path: Path


class BundleIndex:
    """The entries of a bundle by fullUrl and by type and id."""

    def __init__(self, bundle: Bundle) -> None:
        self.by_url: dict[str, Found] = {}
        self.by_type_id: dict[tuple[str, str], Found] = {}
        self.ambiguous: set[tuple[str, str]] = set()  # several entries of that type and id
        duplicates: list[FieldError] = []
        for index, entry in enumerate(bundle.entry):
            if entry.resource is None:
                continue
            found = Found(entry.resource, ("bundle", "entry", index, "resource"))
            if entry.fullUrl is not None:
                if entry.fullUrl in self.by_url:
                    at = pointer("bundle", "entry", index, "fullUrl")
                    duplicates.append(FieldError(at, "fullUrl already used by another entry"))
                self.by_url[entry.fullUrl] = found
            if entry.resource.id is not None:
                key = (entry.resource.resourceType, entry.resource.id)
                if key in self.by_type_id:
                    self.ambiguous.add(key)
                self.by_type_id[key] = found
        if duplicates:
            raise invalid_fields("the entries of a bundle must be unique (FHIR R4 bdl-7)", duplicates)

    def follow(self, reference: str, base: str | None, contained: Sequence[Resource], at: Path) -> Found | str:
        """The resource a literal reference names, or why none. `base`: the RESTful base of the
        referring entry's fullUrl; `at`: the referring resource's path."""
        if reference.startswith("#"):
            for position, resource in enumerate(contained):
                if resource.id == reference[1:]:
                    return Found(resource, (*at, "contained", position))
            return "no contained resource has this id"
        target = reference.partition("/_history/")[0]  # the version of a versioned reference is not checked
        relative = _type_and_id(target)
        if relative is None:
            return self.by_url.get(target) or "no entry of the bundle has this fullUrl"
        if base and (found := self.by_url.get(f"{base}/{target}")):
            return found
        if relative in self.ambiguous:
            return f"several entries of the bundle are {target}"
        return self.by_type_id.get(relative) or f"no entry of the bundle is {target}"


def read_roster(geography: Geography, bundle: Bundle) -> list[Candidate]:
    roles = [i for i, e in enumerate(bundle.entry) if isinstance(e.resource, PractitionerRole)]
    if not roles:
        raise invalid_fields("no candidate", [FieldError("/bundle/entry", "the bundle holds no PractitionerRole")])
    if len(roles) > MAX_PHYSICIANS:
        detail = f"at most {MAX_PHYSICIANS} PractitionerRole entries, not {len(roles)}"
        raise ProblemError("invalid-request", "too many candidates", [FieldError("/bundle/entry", detail)])
    index = BundleIndex(bundle)
    return [_candidate(geography, index, bundle.entry[i], i) for i in roles]


@dataclass
class _Reader:
    """What reading one role collects: the resources its references name, and the notes."""

    index: BundleIndex
    base: str | None  # the RESTful base of the role's fullUrl
    role: PractitionerRole
    at: Path
    notes: list[RoleNote] = field(default_factory=list)

    def follow(self, reference: Reference | None, name: str, kind: str, position: int | None = None) -> Found | None:
        if reference is None or reference.reference is None:
            return None
        at = (*self.at, name, *(() if position is None else (position,)), "reference")
        found = self.index.follow(reference.reference, self.base, self.role.contained, self.at)
        if isinstance(found, Found) and found.resource.resourceType != kind:
            found = f"it names a {found.resource.resourceType}, not a {kind}"
        if isinstance(found, str):
            self.notes.append(RoleNote(at, "reference_unresolved", f"{reference.reference!r} points nowhere: {found}"))
            return None
        return found


_NO_SITE = (
    "no practice site gives an INSEE code, a postal code or coordinates (the role's Locations, then its "
    "Organization's addresses); ranked last as unlocated"
)


def _candidate(geography: Geography, index: BundleIndex, entry: BundleEntry, position: int) -> Candidate:
    role = entry.resource
    assert isinstance(role, PractitionerRole)
    reader = _Reader(index, _restful_base(entry.fullUrl), role, ("bundle", "entry", position, "resource"))
    practitioner = reader.follow(role.practitioner, "practitioner", PRACTITIONER)
    organization = reader.follow(role.organization, "organization", ORGANIZATION)
    locations = [reader.follow(ref, "location", LOCATION, k) for k, ref in enumerate(role.location)]
    sites = [*(found for found in locations if found is not None), *([organization] if organization else [])]
    reading = _choose(_readings(geography, sites))
    if reading is None:
        reader.notes.append(RoleNote(organization.path if organization else reader.at, "physician_unlocated", _NO_SITE))
    return Candidate(
        entry=position,
        id=role.id,
        practitioner=_practitioner(practitioner.resource) if practitioner else None,
        organization=_organization(organization.resource) if organization else None,
        location=reading.location if reading else NOWHERE,
        sources=reading.sources if reading else {},
        site=reading.site if reading else None,
        notes=tuple(reader.notes + (reading.notes if reading else [])),
    )


@dataclass(frozen=True)
class Reading:
    location: LocationInput
    sources: dict[LocationField, Path]
    site: Path
    notes: list[RoleNote]
    resolvable: bool  # False: only codes the geography does not know, left to the engine to report


def _choose(readings: Iterator[Reading]) -> Reading | None:
    """The first reading that locates the role; else the first with a code at all (reported unlocated)."""
    first = None
    for reading in readings:
        if reading.resolvable:
            return reading
        first = first or reading
    return first


def _readings(geography: Geography, sites: list[Found]) -> Iterator[Reading]:
    for site in sites:
        resource = site.resource
        if isinstance(resource, Location):
            position = resource.position
            point = (Point(position.latitude, position.longitude), (*site.path, "position")) if position else None
            address = resource.address or Address()
            reading = read_address(geography, address, (*site.path, "address"), point)
            if reading is not None:
                yield reading
        elif isinstance(resource, Organization):
            for k, address in enumerate(resource.address):
                if address.use != "old" and address.type != "postal":
                    reading = read_address(geography, address, (*site.path, "address", k))
                    if reading is not None:
                        yield reading


def read_address(
    geography: Geography, address: Address, at: Path, position: tuple[Point, Path] | None = None
) -> Reading | None:
    """The location an address gives: INSEE code, else postal code (+ city), else coordinates."""
    point = position or _geolocation(address, at)
    coordinates = {LocationField.COORDINATES: point[1]} if point else {}
    at_point = point[0] if point else None
    skipped: list[tuple[Path, str, str]] = []
    insee = _insee_code(address, at)
    if insee is not None:
        code, code_at = insee
        commune = geography.commune(code)
        if not isinstance(commune, NotFound):
            disagrees = _disagreeing_postal_code(geography, commune, address.postalCode)
            sources = {LocationField.COMMUNE: code_at, **coordinates}
            if disagrees:  # handed over so that the engine flags the pair, as for any roster
                sources[LocationField.POSTAL_CODE] = (*at, "postalCode")
            return Reading(LocationInput(code, disagrees, at_point), sources, at, [], True)
        skipped.append((code_at, "unknown_insee_code", "not an INSEE commune code of the reference geography"))
    if address.postalCode is not None:
        reading = _by_postal_code(geography, address, at, at_point, coordinates)
        if reading is not None:
            reading.notes[:0] = _skipped_notes(skipped, "postal code")
            return reading
        skipped.append(((*at, "postalCode"), "unknown_postal_code", "not a postal code of the reference geography"))
    if point is not None:
        notes = _skipped_notes(skipped, "coordinates")
        return Reading(LocationInput(coordinates=at_point), coordinates, at, notes, True)
    if insee is not None:  # nothing else: the engine reports the code, as for any roster
        return Reading(LocationInput(commune=insee[0]), {LocationField.COMMUNE: insee[1]}, at, [], False)
    if address.postalCode is not None:
        sources = {LocationField.POSTAL_CODE: (*at, "postalCode")}
        return Reading(LocationInput(postal_code=address.postalCode), sources, at, [], False)
    return None


def _disagreeing_postal_code(geography: Geography, commune: CommuneMatch, postal_code: str | None) -> str | None:
    """The postal code when the geography knows it and it does not serve the commune (an
    arrondissement counting as its city); else None. A CEDEX code, unknown, is left out; a code
    that agrees adds nothing, and leaving it out keeps the engine on its fast path."""
    postal = geography.postal_code(postal_code) if postal_code is not None else None
    if postal is None or isinstance(postal, NotFound):
        return None
    if commune.commune.code in postal.communes:
        return None
    city = commune.city_code
    return None if any((geography.communes[c].parent or c) == city for c in postal.communes) else postal_code


def _skipped_notes(skipped: list[tuple[Path, str, str]], used: str) -> list[RoleNote]:
    return [RoleNote(at, code, f"{detail}; the role is located by its {used}") for at, code, detail in skipped]


def _by_postal_code(
    geography: Geography, address: Address, at: Path, point: Point | None, coordinates: dict[LocationField, Path]
) -> Reading | None:
    assert address.postalCode is not None
    postal = geography.postal_code(address.postalCode)
    if isinstance(postal, NotFound):
        return None
    postal_at = (*at, "postalCode")
    sources = {LocationField.POSTAL_CODE: postal_at, **coordinates}
    if len({geography.communes[c].parent or c for c in postal.communes}) == 1:
        return Reading(LocationInput(postal_code=address.postalCode, coordinates=point), sources, at, [], True)
    wanted = name_key(address.city or "")
    named = [c for c in postal.communes if wanted and name_key(geography.communes[c].name) == wanted]
    if len(named) == 1:
        sources[LocationField.COMMUNE] = (*at, "city")
        return Reading(LocationInput(named[0], address.postalCode, point), sources, at, [], True)
    city = f"the city {address.city!r} names none of them" if address.city else "no city is given"
    detail = (
        f"postal code {postal.code} serves {len(postal.communes)} communes and {city}: located by the postal "
        "code's point and first département"
    )
    notes = [RoleNote((*at, "city") if address.city else postal_at, "ambiguous_postal_code", detail)]
    return Reading(LocationInput(postal_code=address.postalCode, coordinates=point), sources, at, notes, True)


def _insee_code(address: Address, at: Path) -> tuple[str, Path] | None:
    for k, extension in enumerate(address.extension):
        if extension.url in INSEE_CODE_EXTENSIONS:
            coding = _checked(_INSEE_CODING, extension.valueCoding, (*at, "extension", k, "valueCoding"))
            if coding is not None and coding.code:
                return coding.code, (*at, "extension", k, "valueCoding", "code")
    return None


def _geolocation(address: Address, at: Path) -> tuple[Point, Path] | None:
    for k, extension in enumerate(address.extension):
        if extension.url == GEOLOCATION_EXTENSION:
            parts = _checked(_COORDINATES, extension.extension, (*at, "extension", k, "extension")) or []
            values = {part.url: part.valueDecimal for part in parts}
            latitude, longitude = values.get("latitude"), values.get("longitude")
            if latitude is not None and longitude is not None:
                return Point(latitude, longitude), (*at, "extension", k)
    return None


_INSEE_CODING: TypeAdapter[InseeCoding | None] = TypeAdapter(InseeCoding | None)
_COORDINATES: TypeAdapter[list[Coordinate] | None] = TypeAdapter(list[Coordinate] | None)
Checked = TypeVar("Checked")


def _checked(adapter: TypeAdapter[Checked], value: Any, at: Path) -> Checked:
    """An extension's value, judged when read, refused as any other element would be."""
    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError as error:
        errors = [
            FieldError(
                pointer(*at, *(s for s in e["loc"] if s not in _UNION_STEPS)), e["msg"].removeprefix("Value error, ")
            )
            for e in error.errors(include_url=False, include_input=False)
        ]
        raise invalid_fields(f"{len(errors)} invalid field(s)", errors) from error


_UNION_STEPS = frozenset({"InseeCoding", "list[Coordinate]"})  # pydantic names the branch of `X | None`


def _identifier(identifiers: list[Identifier], systems: frozenset[str]) -> str | None:
    return next((i.value for i in identifiers if i.value and i.system in systems), None)


def _practitioner(resource: Resource) -> PractitionerSummary:
    assert isinstance(resource, Practitioner)
    return PractitionerSummary(
        resource.id,
        rpps=_identifier(resource.identifier, RPPS_SYSTEMS),
        idnat_ps=_identifier(resource.identifier, IDNAT_PS_SYSTEMS),
    )


def _organization(resource: Resource) -> OrganizationSummary:
    assert isinstance(resource, Organization)
    return OrganizationSummary(resource.id, resource.name, _identifier(resource.identifier, IDNAT_STRUCT_SYSTEMS))

"""From a searchset Bundle to the roster the ranking engine takes: one candidate per PractitionerRole.

The rule (documented in openapi.yaml, `POST /v1/rankings/fhir`):
1. Every distinct PractitionerRole entry is a candidate, in bundle order. Entries repeated whole
   (merged pages of a directory search: the same type, id, version and content, as far as the
   elements read) count once. Its practitioner, organisation and Locations are found by following
   its references inside the bundle (FHIR R4 bundle.html, "Resolving references in Bundles": "#id"
   in `contained`; an absolute reference by fullUrl; "Type/id" against the RESTful base of the
   referring entry's fullUrl; a version by meta.versionId; a logical reference by the identifiers
   of the bundle's resources). Project choice: when a "Type/id" reference finds nothing that way,
   the entry of that type and id is taken (bundles assembled by hand often carry no fullUrl). A
   reference that points nowhere, or to several different entries, is reported, never fatal.
2. Practice sites, in order: the Locations the role references, then its Organization, its
   `use: work` addresses first. An address is skipped when it is `use: old` or `billing`, `type:
   postal`, its period has ended, or its country is set and is not France. The first site that
   locates the role wins.
3. In an address: the INSEE code (FR Core extension, or the older Interop'Santé one) when the
   reference geography knows it; else the postal code, and when it serves several communes, the
   `city` to single one out; else the coordinates (Location.position, or the geolocation extension
   of the address). Coordinates given with a code make the point used for distances, as for any
   roster. An unknown code is reported and the next element is used; when none is left the engine
   reports the role unlocated.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from itertools import islice
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from app.contract.fhir.models import (
    GEOLOCATION_EXTENSION,
    INSEE_CODE_EXTENSIONS,
    LOCATION,
    OLD_INSEE_CODE_EXTENSION,
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
from app.contract.unique_keys import shortened
from app.geography import CommuneMatch, Geography, NotFound, Point
from app.territoriality.locations import LocationField, LocationInput, WarningCode

Path = tuple[str | int, ...]  # a path into the request body; presenters make it a JSON pointer
ContainedById = Mapping[str, tuple[int, Resource]]  # a role's contained resources by id: position, resource


MAX_NOTES_PER_ROLE = 5  # a role of 50,000 broken references gets 5 warnings, not 50,000: bounded answers


def _bounded(notes: Sequence[RoleNote]) -> tuple[RoleNote, ...]:
    """The first warnings of a role; the last one listed counts those left out."""
    if len(notes) <= MAX_NOTES_PER_ROLE:
        return tuple(notes)
    last = notes[MAX_NOTES_PER_ROLE - 1]
    left_out = len(notes) - MAX_NOTES_PER_ROLE
    counted = RoleNote(last.at, last.code, f"{last.detail} (and {left_out:,} more warnings on this role, not listed)")
    return (*notes[: MAX_NOTES_PER_ROLE - 1], counted)


def _contained_by_id(contained: Sequence[Resource]) -> ContainedById:
    """The first contained resource of each id (looked up once per reference, not scanned)."""
    by_id: dict[str, tuple[int, Resource]] = {}
    for position, resource in enumerate(contained):
        if resource.id is not None:
            by_id.setdefault(resource.id, (position, resource))
    return by_id


# Identifier systems (IG examples PP19DP-Practitioner, PP19DP-Organization-EG-CH; API documentation).
IDNAT_PS_SYSTEMS = frozenset({"urn:oid:1.2.250.1.71.4.2.1"})
RPPS_SYSTEMS = frozenset({"https://rpps.esante.gouv.fr", "http://rpps.fr"})
IDNAT_STRUCT_SYSTEMS = frozenset({"urn:oid:1.2.250.1.71.4.2.2"})

# Address.country values read as France (project choice, docs/sources.md): the INSEE code of France
# the IG examples write (99100), the ISO 3166-1 codes and name of France, and the ISO codes of the
# overseas départements and collectivités the reference geography holds (971-978).
FRANCE = frozenset(
    {"99100", "FR", "FRA", "FRANCE"}
    | {"GP", "GLP", "MQ", "MTQ", "GF", "GUF", "RE", "REU", "YT", "MYT", "PM", "SPM", "BL", "BLM", "MF", "MAF"}
)
NOT_PRACTICE_SITES = {"use": frozenset({"old", "billing"}), "type": frozenset({"postal"})}

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


def json_pointer(path: Path) -> str:
    """The JSON pointer of a path this module builds: element names and indices, nothing to escape."""
    return "/" + "/".join(map(str, path))


class FhirWarningCode(StrEnum):
    """What only a bundle can make a warning say; openapi.yaml's `FhirWarning.code` lists these and
    every WarningCode."""

    REFERENCE_UNRESOLVED = "reference_unresolved"
    REFERENCE_AMBIGUOUS = "reference_ambiguous"
    UNKNOWN_INSEE_CODE = "unknown_insee_code"
    UNKNOWN_POSTAL_CODE = "unknown_postal_code"
    AMBIGUOUS_POSTAL_CODE = "ambiguous_postal_code"


@dataclass(frozen=True, slots=True)
class RoleNote:
    at: Path
    code: WarningCode | FhirWarningCode
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
    located_by: str | None  # its JSON pointer
    notes: tuple[RoleNote, ...]
    references: tuple[int, ...]  # the entries its references lead to

    @property
    def path(self) -> Path:
        return ("bundle", "entry", self.entry, "resource")


@dataclass(frozen=True, slots=True)
class Found:
    resource: Resource
    path: Path
    entry: int | None  # the entry that holds it; None for a resource contained in the role


@dataclass(frozen=True, slots=True)
class Missed:
    """Why a reference leads nowhere: `reference_unresolved`, or `reference_ambiguous` when it
    leads to several different resources."""

    code: FhirWarningCode
    detail: str


# An entry is compared with at most this many earlier entries of its type and id: repeats of merged
# pages follow their first copy; past that, a bundle of thousands of different "Organization/x"
# would make the comparisons quadratic (and a reference to them is ambiguous whatever they hold).
COMPARED = 8


def _identical(found: list[Found], resource: Resource) -> Found | None:
    for candidate in found[:COMPARED]:
        if candidate.resource == resource:
            return candidate
    return None


def _entries_named(found: Sequence[Found], count: int | None = None) -> str:
    """'3, 7' or, past five, '3, 7, 9, 12, 15 and 2,000 more': a warning stays short."""
    count = len(found) if count is None else count
    named = ", ".join(str(f.entry) for f in found[:5])
    return named if count <= 5 else f"{named} and {count - 5:,} more"


class BundleIndex:
    """The entries of a bundle by fullUrl, by type and id, and (when a logical reference asks for
    it) by identifier. An entry that repeats an earlier one whole is indexed once."""

    def __init__(self, entries: Sequence[BundleEntry]) -> None:
        self.entries = entries
        self.by_url: dict[str, Found] = {}  # the first entry of each fullUrl
        # fullUrl -> meta.versionId ("" when none, as bdl-7's expression reads it) -> entry, for the
        # fullUrls that several versions share (rare: the map is made on the second)
        self.url_versions: dict[str, dict[str, Found]] = {}
        self.by_type_id: dict[tuple[str, str], list[Found]] = {}  # several: different resources
        self.duplicate_of: dict[int, int] = {}  # entry -> the earlier entry it repeats
        self._followed: dict[tuple[str | None, ...], Found | Missed] = {}  # many roles name one organisation
        clashes: list[FieldError] = []
        by_url, by_type_id = self.by_url, self.by_type_id
        for index, entry in enumerate(entries):
            resource = entry.resource
            if resource is None:
                continue
            found = Found(resource, ("bundle", "entry", index, "resource"), index)
            key = (resource.resourceType, resource.id) if resource.id is not None else None
            earlier = by_type_id.get(key) if key is not None else None
            same = _identical(earlier, resource) if earlier else None
            url = entry.fullUrl
            if url is not None:
                first = by_url.get(url)
                if first is None:
                    by_url[url] = same or found
                else:
                    versions = self.url_versions.get(url)
                    if versions is None:
                        versions = self.url_versions[url] = {first.resource.version or "": first}
                    clash = versions.get(resource.version or "")
                    if clash is None:
                        versions[resource.version or ""] = same or found
                    elif clash.resource != resource:
                        detail = f"fullUrl already used by entry {clash.entry}, with the same meta.versionId"
                        clashes.append(FieldError(pointer("bundle", "entry", index, "fullUrl"), detail))
                    else:
                        same = same or clash
            if same is not None:
                assert same.entry is not None
                self.duplicate_of[index] = same.entry
            elif earlier is not None:
                earlier.append(found)
            elif key is not None:
                by_type_id[key] = [found]
        if clashes:
            raise invalid_fields("entries with the same fullUrl must differ by meta.versionId (FHIR R4 bdl-7)", clashes)

    @cached_property
    def by_type_id_version(self) -> dict[tuple[str, str, str], list[Found]]:
        """(type, id, meta.versionId or "") -> the entries; built when a versioned reference asks for it."""
        index: dict[tuple[str, str, str], list[Found]] = {}
        for (kind, identifier), found in self.by_type_id.items():
            for f in found:
                index.setdefault((kind, identifier, f.resource.version or ""), []).append(f)
        return index

    @cached_property
    def by_identifier(self) -> dict[tuple[str, str, str], list[Found]]:
        """(type, system, value) -> the resources carrying that identifier; built on first need."""
        index: dict[tuple[str, str, str], list[Found]] = {}
        for found in (f for same in self.by_type_id.values() for f in same):
            for identifier in getattr(found.resource, "identifier", None) or ():
                if identifier.system and identifier.value:
                    key = (found.resource.resourceType, identifier.system, identifier.value)
                    index.setdefault(key, []).append(found)
        return index

    def follow(
        self, reference: Reference, kind: str, base: str | None, contained: ContainedById, at: Path
    ) -> Found | Missed | None:
        """What a reference of a resource at `at` leads to. `base`: the RESTful base of the
        referring entry's fullUrl; `contained`: the referring resource's contained resources."""
        literal, identifier = reference.reference, reference.identifier
        if literal is not None and literal.startswith("#"):
            return self._checked(self._contained(literal[1:], contained, at), kind)
        if literal is not None:
            key: tuple[str | None, ...] = (literal, base, kind)
        elif identifier is not None:
            key = ("identifier", identifier.system, identifier.value, kind)
        else:
            return None
        found = self._followed.get(key)
        if found is None:
            found = self._followed[key] = self._checked(
                self._literal(literal, base) if literal is not None else self._logical(identifier, kind), kind
            )
        return found

    @staticmethod
    def _checked(found: Found | Missed, kind: str) -> Found | Missed:
        if isinstance(found, Found) and found.resource.resourceType != kind:
            return Missed(
                FhirWarningCode.REFERENCE_UNRESOLVED, f"it names a {found.resource.resourceType}, not a {kind}"
            )
        return found

    @staticmethod
    def _contained(wanted: str, contained: ContainedById, at: Path) -> Found | Missed:
        if wanted in contained:
            position, resource = contained[wanted]
            return Found(resource, (*at, "contained", position), None)
        return Missed(FhirWarningCode.REFERENCE_UNRESOLVED, "no contained resource has this id")

    def _literal(self, reference: str, base: str | None) -> Found | Missed:
        target, _, version = reference.partition("/_history/")
        relative = _type_and_id(target)
        if relative is None:  # absolute: matched against fullUrl only
            return self._by_url(target, target, version, "no entry of the bundle has this fullUrl")
        if base and f"{base}/{target}" in self.by_url:
            return self._by_url(f"{base}/{target}", target, version, "")
        return self._by_type_id(relative, target, version)

    def _by_url(self, url: str, target: str, version: str, none: str) -> Found | Missed:
        """An entry by fullUrl, and by meta.versionId for a versioned reference (an entry without
        one cannot be checked: taken, project choice). Lookups only: no scan of the entries."""
        first = self.by_url.get(url)
        if first is None:
            return Missed(FhirWarningCode.REFERENCE_UNRESOLVED, none)
        versions = self.url_versions.get(url) or {first.resource.version or "": first}
        if version:
            found = versions.get(version) or versions.get("")
            return found or Missed(
                FhirWarningCode.REFERENCE_UNRESOLVED,
                f"no entry of the bundle is {shortened(target)} at meta.versionId {shortened(version)}",
            )
        if len(versions) == 1:
            return first
        shown = list(islice(versions.items(), 5))
        entries = _entries_named([f for _, f in shown], len(versions))
        ids = ", ".join(shortened(v) or "none" for v, _ in shown)
        target = shortened(target)
        detail = (
            f"several versions of {target} are in the bundle (entries {entries}, meta.versionId {ids}): "
            f"a versioned reference ({target}/_history/N) would single one out"
        )
        return Missed(FhirWarningCode.REFERENCE_AMBIGUOUS, detail)

    def _by_type_id(self, key: tuple[str, str], target: str, version: str) -> Found | Missed:
        found = self.by_type_id.get(key)
        if not found:
            return Missed(FhirWarningCode.REFERENCE_UNRESOLVED, f"no entry of the bundle is {target}")
        if version:
            found = self.by_type_id_version.get((*key, version)) or self.by_type_id_version.get((*key, ""))
            if not found:
                return Missed(
                    FhirWarningCode.REFERENCE_UNRESOLVED,
                    f"no entry of the bundle is {target} at meta.versionId {shortened(version)}",
                )
        if len(found) == 1:
            return found[0]
        detail = f"several different entries of the bundle are {target} (entries {_entries_named(found)})"
        return Missed(FhirWarningCode.REFERENCE_AMBIGUOUS, detail)

    def _logical(self, identifier: Identifier | None, kind: str) -> Found | Missed:
        assert identifier is not None
        if not identifier.system or not identifier.value:
            return Missed(
                FhirWarningCode.REFERENCE_UNRESOLVED, "a reference by identifier needs its system and its value"
            )
        named = f"{shortened(identifier.system)}|{shortened(identifier.value)}"
        found = self.by_identifier.get((kind, identifier.system, identifier.value))
        if not found:
            return Missed(FhirWarningCode.REFERENCE_UNRESOLVED, f"no {kind} of the bundle has the identifier {named}")
        if len(found) > 1:
            detail = f"several different {kind} entries have the identifier {named} (entries {_entries_named(found)})"
            return Missed(FhirWarningCode.REFERENCE_AMBIGUOUS, detail)
        return found[0]


def _missed_note(reference: Reference, missed: Missed, at: Path) -> RoleNote:
    if reference.reference is not None:
        shown, at = repr(shortened(reference.reference)), (*at, "reference")
    else:
        assert reference.identifier is not None
        system, value = (shortened(reference.identifier.system or ""), shortened(reference.identifier.value or ""))
        shown, at = f"identifier {system}|{value}", (*at, "identifier")
    how = "points nowhere" if missed.code == FhirWarningCode.REFERENCE_UNRESOLVED else "is ambiguous"
    return RoleNote(at, missed.code, f"{shown} {how}: {missed.detail}")


def read_roster(geography: Geography, bundle: Bundle) -> tuple[list[Candidate], BundleIndex]:
    entries = bundle.entry or []
    index = BundleIndex(entries)
    roles = [
        i for i, e in enumerate(entries) if isinstance(e.resource, PractitionerRole) and i not in index.duplicate_of
    ]
    if not roles:
        raise invalid_fields("no candidate", [FieldError("/bundle/entry", "the bundle holds no PractitionerRole")])
    if len(roles) > MAX_PHYSICIANS:
        detail = f"at most {MAX_PHYSICIANS} PractitionerRole entries, not {len(roles)}"
        raise ProblemError("invalid-request", "too many candidates", [FieldError("/bundle/entry", detail)])
    reader = RosterReader(geography, index, _today())
    return [reader.candidate(entries[i], i) for i in roles], index


def _today() -> str:
    """Today's date, UTC, as FHIR writes a date: an address whose period ended before it is skipped."""
    return datetime.now(UTC).date().isoformat()


@dataclass(frozen=True, slots=True)
class Reading:
    location: LocationInput
    sources: dict[LocationField, Path]
    site: Path
    located_by: str
    notes: tuple[RoleNote, ...]
    resolvable: bool  # False: only codes the geography does not know, left to the engine to report


_NO_SITE = (
    "no practice site gives an INSEE code, a postal code or coordinates (the role's Locations, then its "
    "Organization's addresses, skipping old, billing and postal addresses, ended ones and those abroad); "
    "ranked last as unlocated"
)


@dataclass
class RosterReader:
    """Reads the roles of one bundle. What does not depend on the role (a site's readings, an
    organisation's summary) is read once per resource: a hospital's 300 roles read its address once."""

    geography: Geography
    index: BundleIndex
    today: str
    # by id() of the resource: each is held by the bundle's entries for the whole request
    _readings: dict[int, tuple[Reading, ...]] = field(default_factory=dict)
    _organizations: dict[int, OrganizationSummary] = field(default_factory=dict)
    _practitioners: dict[int, PractitionerSummary] = field(default_factory=dict)

    def candidate(self, entry: BundleEntry, position: int) -> Candidate:
        role = entry.resource
        assert isinstance(role, PractitionerRole)
        at: Path = ("bundle", "entry", position, "resource")
        base = _restful_base(entry.fullUrl)
        contained = _contained_by_id(role.contained or ())
        notes: list[RoleNote] = []
        practitioner = self._follow(role.practitioner, PRACTITIONER, base, contained, at, ("practitioner",), notes)
        locations = [
            self._follow(reference, LOCATION, base, contained, at, ("location", k), notes)
            for k, reference in enumerate(role.location or ())
        ]
        organization = self._follow(role.organization, ORGANIZATION, base, contained, at, ("organization",), notes)
        sites = [f for f in (*locations, organization) if f is not None]
        references = tuple(f.entry for f in (practitioner, *sites) if f is not None and f.entry is not None)
        reading = self._choose(sites)
        if reading is None:
            notes.append(RoleNote(organization.path if organization else at, WarningCode.PHYSICIAN_UNLOCATED, _NO_SITE))
            return Candidate(
                position,
                role.id,
                self._practitioner(practitioner),
                self._organization(organization),
                LocationInput(),
                {},
                None,
                None,
                _bounded(notes),
                tuple(references),
            )  # fmt: skip  (the engine ranks a location without any field unlocated)
        return Candidate(
            position, role.id, self._practitioner(practitioner), self._organization(organization), reading.location,
            reading.sources, reading.site, reading.located_by, _bounded([*notes, *reading.notes]), references,
        )  # fmt: skip

    def _follow(
        self,
        reference: Reference | None,
        kind: str,
        base: str | None,
        contained: ContainedById,
        at: Path,
        steps: Path,
        notes: list[RoleNote],
    ) -> Found | None:
        if reference is None:
            return None
        found = self.index.follow(reference, kind, base, contained, at)
        if isinstance(found, Missed):
            notes.append(_missed_note(reference, found, (*at, *steps)))
            return None
        return found

    def _choose(self, sites: list[Found]) -> Reading | None:
        """The first reading that locates the role; else the first with a code at all (reported unlocated)."""
        first = None
        for site in sites:
            readings = self._readings.get(id(site.resource))
            if readings is None:
                readings = self._readings[id(site.resource)] = self._read_site(site)
            for reading in readings:
                if reading.resolvable:
                    return reading
                first = first or reading
        return first

    def _read_site(self, site: Found) -> tuple[Reading, ...]:
        resource = site.resource
        if isinstance(resource, Location):
            position = resource.position
            point = (Point(position.latitude, position.longitude), (*site.path, "position")) if position else None
            address = resource.address if resource.address and self._practice_site(resource.address) else Address()
            reading = read_address(self.geography, address, (*site.path, "address"), point)
            return (reading,) if reading is not None else ()
        if isinstance(resource, Organization) and resource.address:
            usable = [(k, a) for k, a in enumerate(resource.address) if self._practice_site(a)]
            if len(usable) > 1:
                usable = [*(u for u in usable if u[1].use == "work"), *(u for u in usable if u[1].use != "work")]
            readings = (read_address(self.geography, address, (*site.path, "address", k)) for k, address in usable)
            return tuple(reading for reading in readings if reading is not None)
        return ()

    def _practice_site(self, address: Address) -> bool:
        """Not an old, billing or postal-only address, not ended, not abroad (project rule)."""
        if address.use in NOT_PRACTICE_SITES["use"] or address.type in NOT_PRACTICE_SITES["type"]:
            return False
        end = address.period.end if address.period is not None else None
        if end is not None and end[:10] < self.today[: len(end[:10])]:
            return False
        return address.country is None or _country_key(address.country) in FRANCE

    def _practitioner(self, found: Found | None) -> PractitionerSummary | None:
        if found is None:
            return None
        summary = self._practitioners.get(id(found.resource))
        if summary is None:
            resource = found.resource
            assert isinstance(resource, Practitioner)
            identifiers = resource.identifier or ()
            summary = self._practitioners[id(resource)] = PractitionerSummary(
                resource.id, _identifier(identifiers, RPPS_SYSTEMS), _identifier(identifiers, IDNAT_PS_SYSTEMS)
            )
        return summary

    def _organization(self, found: Found | None) -> OrganizationSummary | None:
        if found is None:
            return None
        summary = self._organizations.get(id(found.resource))
        if summary is None:
            resource = found.resource
            assert isinstance(resource, Organization)
            name = shortened(resource.name) if resource.name is not None else None
            summary = self._organizations[id(resource)] = OrganizationSummary(
                resource.id, name, _identifier(resource.identifier or (), IDNAT_STRUCT_SYSTEMS)
            )
        return summary


def _country_key(country: str) -> str:
    """'France', ' fr ', 'FRANCE' -> 'FRANCE', 'FR'; accents dropped ('Réunion' is not a value of the list, 'RE' is)."""
    decomposed = unicodedata.normalize("NFKD", country.strip().upper())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def read_address(
    geography: Geography, address: Address, at: Path, position: tuple[Point, Path] | None = None
) -> Reading | None:
    """The location an address gives: INSEE code, else postal code (+ city), else coordinates."""
    point = position or _geolocation(address, at)
    coordinates = {LocationField.COORDINATES: point[1]} if point else {}
    at_point = point[0] if point else None
    skipped: list[tuple[Path, FhirWarningCode, str]] = []
    insee = _insee_code(address, at)
    located_by = json_pointer(at)
    if insee is not None:
        code, code_at = insee
        commune = geography.commune(code)
        if not isinstance(commune, NotFound):
            disagrees = _disagreeing_postal_code(geography, commune, address.postalCode)
            sources = {LocationField.COMMUNE: code_at, **coordinates}
            if disagrees:  # handed over so that the engine flags the pair, as for any roster
                sources[LocationField.POSTAL_CODE] = (*at, "postalCode")
            return Reading(LocationInput(code, disagrees, at_point), sources, at, located_by, (), True)
        skipped.append(
            (code_at, FhirWarningCode.UNKNOWN_INSEE_CODE, "not an INSEE commune code of the reference geography")
        )
    if address.postalCode is not None:
        by_postal_code = _by_postal_code(geography, address, at, at_point, coordinates)
        if by_postal_code is not None:
            location, sources, notes = by_postal_code
            return Reading(location, sources, at, located_by, (*_skipped_notes(skipped, "postal code"), *notes), True)
        skipped.append(
            ((*at, "postalCode"), FhirWarningCode.UNKNOWN_POSTAL_CODE, "not a postal code of the reference geography")
        )
    if point is not None:
        notes = tuple(_skipped_notes(skipped, "coordinates"))
        return Reading(LocationInput(coordinates=at_point), coordinates, at, located_by, notes, True)
    if insee is not None:  # nothing else: the engine reports the code, as for any roster
        return Reading(LocationInput(commune=insee[0]), {LocationField.COMMUNE: insee[1]}, at, located_by, (), False)
    if address.postalCode is not None:
        sources = {LocationField.POSTAL_CODE: (*at, "postalCode")}
        return Reading(LocationInput(postal_code=address.postalCode), sources, at, located_by, (), False)
    return None


def _disagreeing_postal_code(geography: Geography, commune: CommuneMatch, postal_code: str | None) -> str | None:
    """The postal code when the geography knows it and it does not serve the commune (an
    arrondissement counting as its city); else None. A CEDEX code, unknown, is left out; a code
    that agrees adds nothing, and leaving it out keeps the engine on its fast path."""
    if postal_code is None or postal_code in commune.commune.postal_codes:  # the common case, without a lookup
        return None
    postal = geography.postal_code(postal_code)
    if isinstance(postal, NotFound):
        return None
    if commune.commune.code in postal.communes:
        return None
    city = commune.city_code
    return None if any((geography.communes[c].parent or c) == city for c in postal.communes) else postal_code


def _skipped_notes(skipped: list[tuple[Path, FhirWarningCode, str]], used: str) -> list[RoleNote]:
    return [RoleNote(at, code, f"{detail}; the role is located by its {used}") for at, code, detail in skipped]


def _by_postal_code(
    geography: Geography, address: Address, at: Path, point: Point | None, coordinates: dict[LocationField, Path]
) -> tuple[LocationInput, dict[LocationField, Path], tuple[RoleNote, ...]] | None:
    assert address.postalCode is not None
    postal = geography.postal_code(address.postalCode)
    if isinstance(postal, NotFound):
        return None
    postal_at = (*at, "postalCode")
    sources = {LocationField.POSTAL_CODE: postal_at, **coordinates}
    if len({geography.communes[c].parent or c for c in postal.communes}) == 1:
        return LocationInput(postal_code=address.postalCode, coordinates=point), sources, ()
    wanted = name_key(address.city or "")
    named = [c for c in postal.communes if wanted and name_key(geography.communes[c].name) == wanted]
    if len(named) == 1:
        sources[LocationField.COMMUNE] = (*at, "city")
        return LocationInput(named[0], address.postalCode, point), sources, ()
    city = f"the city {shortened(address.city)!r} names none of them" if address.city else "no city is given"
    if len(postal.departements) > 1:
        located = (
            f"located by the postal code: placed in each of its départements ({', '.join(postal.departements)}) "
            "and ranked by the best, as POST /v1/rankings does"
        )
    else:
        located = f"located by the postal code, in its département ({postal.departements[0]})"
    detail = f"postal code {postal.code} serves {len(postal.communes)} communes and {city}: {located}"
    notes = (RoleNote((*at, "city") if address.city else postal_at, FhirWarningCode.AMBIGUOUS_POSTAL_CODE, detail),)
    return LocationInput(postal_code=address.postalCode, coordinates=point), sources, notes


def _insee_code(address: Address, at: Path) -> tuple[str, Path] | None:
    for k, extension in enumerate(address.extension or ()):
        if extension.url in INSEE_CODE_EXTENSIONS:
            coding = _checked(_INSEE_CODING, extension.valueCoding, (*at, "extension", k, "valueCoding"))
            if coding is not None and coding.code:
                return coding.code, (*at, "extension", k, "valueCoding", "code")
        elif extension.url == OLD_INSEE_CODE_EXTENSION:
            code = _checked(_CODE, extension.valueCode, (*at, "extension", k, "valueCode"))
            if code:
                return code, (*at, "extension", k, "valueCode")
    return None


def _geolocation(address: Address, at: Path) -> tuple[Point, Path] | None:
    for k, extension in enumerate(address.extension or ()):
        if extension.url == GEOLOCATION_EXTENSION:
            parts = _checked(_COORDINATES, extension.extension, (*at, "extension", k, "extension")) or []
            values = {part.url: part.valueDecimal for part in parts}
            latitude, longitude = values.get("latitude"), values.get("longitude")
            if latitude is not None and longitude is not None:
                return Point(latitude, longitude), (*at, "extension", k)
    return None


_INSEE_CODING: TypeAdapter[InseeCoding | None] = TypeAdapter(InseeCoding | None)
_CODE: TypeAdapter[str | None] = TypeAdapter(str | None)
_COORDINATES: TypeAdapter[list[Coordinate] | None] = TypeAdapter(list[Coordinate] | None)
Checked = TypeVar("Checked")


def _checked(adapter: TypeAdapter[Checked], value: Any, at: Path) -> Checked:
    """An extension's value, judged when read, refused as any other element would be (strict as
    the elements are: models.py)."""
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        errors = [
            FieldError(pointer(*at, *(s for s in e["loc"] if s not in _UNION_STEPS)), _extension_detail(e))
            for e in error.errors(include_url=False, include_input=False)
        ]
        raise invalid_fields(f"{len(errors)} invalid field(s)", errors) from error


def _extension_detail(error: Mapping[str, Any]) -> str:
    """An extension value's error in pydantic's words for Python objects; a value that is no object
    where an element is expected in the words it had when the elements were models (their
    'model_type'), not a dataclass's: the answers stay as they were."""
    if error["type"] == "dataclass_type":
        return f"Input should be a valid dictionary or instance of {error['ctx']['class_name']}"
    return str(error["msg"]).removeprefix("Value error, ")


_UNION_STEPS = frozenset({"InseeCoding", "list[Coordinate]", "str"})  # pydantic names the branch of `X | None`


def _identifier(identifiers: Iterable[Identifier], systems: frozenset[str]) -> str | None:
    """The value of the first identifier of these systems, as an answer quotes it (an answer says
    it again for each role of the resource: no more than its first 256 characters)."""
    for identifier in identifiers:
        if identifier.value and identifier.system in systems:
            return shortened(identifier.value)
    return None

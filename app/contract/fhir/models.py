"""The few FHIR R4 elements the ranking reads, as pydantic dataclasses, and the request that carries them.

Only what the rule uses is modelled: the Bundle and its entries; a resource's id and
meta.versionId; PractitionerRole (practitioner, organization, location, contained); Practitioner
and Organization (identifiers, name, addresses); Location (address, position); a Reference's
literal `reference` and its `identifier`; in an Address, use, type, period, country, city, postal
code and the INSEE code and geolocation extensions. Every other element is ignored, as a FHIR
reader may do with what it does not know (of an extension, only its URL is looked at unless it is
one of those read). What is read is read strictly: a string where FHIR has a string, a list where
FHIR has a list, else a 422 naming the element; a JSON null counts as absent.

A resource's type is told by its `resourceType` string: one Python call a resource picks its model,
one of the four types read, or a fallback model for any other type.
"""

# ruff: noqa: N815  (FHIR element names are camelCase: the models keep them as the JSON spells them)
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Strict, StringConstraints, Tag, model_validator
from pydantic.dataclasses import dataclass

from app.contract.limits import MAX_FHIR_ENTRIES, MAX_PHYSICIANS
from app.contract.requests import Patient, PolicyName, WholeNumber
from app.territoriality.policies import DEFAULT_POLICY

# The extension FR Core defines for the INSEE code of an address (IG: AsAddressExtendedProfile,
# examples AsOrganizationExampleNancy/Fictive, search parameter as-sp-insee-code), valueCoding.
# FR Core's canonical base moved from http:// to https://; both spellings are read.
INSEE_CODE_EXTENSIONS = frozenset(
    {
        "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code",
        "http://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code",
    }
)
# The older Interop'Santé extension, valueCode, in the directory's own samples
# (ansforge/annuaire-sante-fhir-documentation, samples/fhir-resources/PM1.json, PP19-organizationalRole_SituExe.json).
OLD_INSEE_CODE_EXTENSION = "http://www.interopsante.org/fhir/structuredefinition/datatype/fr-address-insee-code"
GEOLOCATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/geolocation"  # FHIR R4 core extension on Address

FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]  # FHIR R4 `id` datatype
# FHIR R4 `dateTime` (year, year-month, date, or date and time with a zone), as far as it is read.
FhirDateTime = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?$"
    ),
]
ROLE, PRACTITIONER, ORGANIZATION, LOCATION = "PractitionerRole", "Practitioner", "Organization", "Location"
READ_TYPES = frozenset({ROLE, PRACTITIONER, ORGANIZATION, LOCATION})


# A FHIR element: unknown members ignored, known ones strictly typed. Each is a frozen dataclass with
# slots, 40 to 88 bytes, where a pydantic model was about 480 (a BundleEntry: 80, its __dict__ 184,
# the set of the fields given 216): a 2 MB Bundle of 1,100 roles holds 14,300 elements, 8.0 MB as
# models, 1.1 as dataclasses. Strict for each field, not for the dataclass: a strict dataclass takes
# only its own instances from Python, and a body's document is dicts. That document holds only what
# JSON holds (dicts, lists, strings, numbers, booleans, None), which lax strings, lists and literals
# accept and refuse as strict ones do; floats do not (lax takes "1.5" and true): StrictFloat. A value
# that is no object where an element goes is a dataclass's error, not a model's: worded for JSON
# alike ("Input should be an object", app/contract/problems.py), and in an extension's value as a
# model's was (roster.py, _extension_detail).
element = dataclass(frozen=True, slots=True, config=ConfigDict(extra="ignore"))
StrictFloat = Annotated[float, Strict()]


@element
class Element:
    """A FHIR element."""


@element
class Identifier(Element):
    """Told apart by `system` alone: the systems are fixed (IG examples; API documentation), and
    reading `type` too would double the cost of validating a directory's bundle (measured)."""

    system: str | None = None
    value: str | None = None


@element
class Reference(Element):
    reference: str | None = None  # a literal reference
    identifier: Identifier | None = None  # a logical one, resolved against the bundle's identifiers


@element
class Extension(Element):
    """Only `url` is judged here. The value of an extension this service reads (the INSEE code, the
    geolocation) is judged when read (roster.py), so that the many it does not read cost nothing:
    a model validator on every extension tripled the time to validate a directory's bundle."""

    url: str | None = None
    valueCoding: Any = None
    valueCode: Any = None
    extension: Any = None


@element
class InseeCoding(Element):
    code: str | None = None


@element
class Coordinate(Element):
    """A part of the geolocation extension: `latitude` or `longitude`, WGS84 degrees."""

    url: str | None = None
    valueDecimal: StrictFloat | None = None

    @model_validator(mode="after")
    def in_range(self) -> Coordinate:
        bound = {"latitude": 90.0, "longitude": 180.0}.get(self.url or "")
        if bound is not None and self.valueDecimal is not None and not abs(self.valueDecimal) <= bound:  # NaN too
            raise ValueError(f"{self.url} must lie in [-{bound:g}, {bound:g}]")
        return self


@element
class Period(Element):
    start: FhirDateTime | None = None
    end: FhirDateTime | None = None


@element
class Address(Element):
    use: str | None = None
    type: str | None = None
    city: str | None = None
    postalCode: str | None = None
    country: str | None = None
    period: Period | None = None
    extension: list[Extension] | None = None


@element
class Position(Element):
    longitude: Annotated[StrictFloat, Field(ge=-180, le=180)]
    latitude: Annotated[StrictFloat, Field(ge=-90, le=90)]


@element
class Meta(Element):
    versionId: str | None = None


@element
class Resource(Element):
    resourceType: str
    id: FhirId | None = None
    meta: Meta | None = None

    @property
    def version(self) -> str | None:
        return self.meta.versionId if self.meta else None


@element
class Practitioner(Resource):
    resourceType: Literal["Practitioner"]
    identifier: list[Identifier] | None = None


@element
class Organization(Resource):
    resourceType: Literal["Organization"]
    name: str | None = None
    identifier: list[Identifier] | None = None
    address: list[Address] | None = None


@element
class Location(Resource):
    resourceType: Literal["Location"]
    address: Address | None = None
    position: Position | None = None


@element
class OtherResource(Resource):
    """A resource of a type the ranking does not read (an OperationOutcome, a HealthcareService...)."""


@element
class OtherContainedResource(Resource):
    """A contained resource of a type not read in `contained` (a PractitionerRole there is not a candidate)."""


def _branch_of(read: frozenset[str], other: str) -> Discriminator:
    """The model a resource is validated by, told by its `resourceType`: its own for a type read, the
    fallback `other` for any other value (missing or not a string included: the fallback names the
    mistake). One branch a resource, so that each mistake is one error: a union trying each branch in
    turn said each again, and counted it twice or three times."""

    def branch(resource: Any) -> str:
        declared = (
            resource.get("resourceType") if isinstance(resource, dict) else getattr(resource, "resourceType", None)
        )
        return declared if isinstance(declared, str) and declared in read else other

    return Discriminator(branch)


OTHER_RESOURCE, OTHER_CONTAINED = OtherResource.__name__, OtherContainedResource.__name__
ContainedResource = Annotated[
    Annotated[Practitioner, Tag(PRACTITIONER)]
    | Annotated[Organization, Tag(ORGANIZATION)]
    | Annotated[Location, Tag(LOCATION)]
    | Annotated[OtherContainedResource, Tag(OTHER_CONTAINED)],
    _branch_of(READ_TYPES - {ROLE}, OTHER_CONTAINED),
]


@element
class PractitionerRole(Resource):
    resourceType: Literal["PractitionerRole"]
    practitioner: Reference | None = None
    organization: Reference | None = None
    location: list[Reference] | None = None
    contained: list[ContainedResource] | None = None


AnyResource = Annotated[
    Annotated[PractitionerRole, Tag(ROLE)]
    | Annotated[Practitioner, Tag(PRACTITIONER)]
    | Annotated[Organization, Tag(ORGANIZATION)]
    | Annotated[Location, Tag(LOCATION)]
    | Annotated[OtherResource, Tag(OTHER_RESOURCE)],
    _branch_of(READ_TYPES, OTHER_RESOURCE),
]


@element
class BundleEntry(Element):
    fullUrl: str | None = None
    resource: AnyResource | None = None


@element
class Bundle(Element):
    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    entry: list[BundleEntry] | None = Field(default=None, max_length=MAX_FHIR_ENTRIES)


class FhirRankingRequest(BaseModel):
    """POST /v1/rankings/fhir: the patient, policy and limit of POST /v1/rankings, and a searchset Bundle."""

    # Our own members, to the letter. cache_strings="keys": pydantic keeps the strings it reads in a
    # process-wide cache by default; field names may stay there, a request's values may not.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, cache_strings="keys")

    patient: Patient | None = None
    bundle: Bundle
    policy: PolicyName = DEFAULT_POLICY
    limit: WholeNumber | None = Field(default=None, ge=1, le=MAX_PHYSICIANS)
    format: Literal["ranking", "bundle"] = "ranking"


def json_steps(loc: tuple[str | int, ...]) -> list[str | int]:
    """An error's location without the step pydantic adds for a resource's branch: the name of its
    model, right after an entry's `resource` or an item of `contained` (a member of the same name
    elsewhere, such as an unknown one at the top level, is the JSON's own)."""
    return [step for at, step in enumerate(loc) if not (step in _BRANCHES and _is_resource(loc[:at]))]


def _is_resource(path: tuple[str | int, ...]) -> bool:
    return path[-1:] == ("resource",) or (len(path) >= 2 and isinstance(path[-1], int) and path[-2] == "contained")


_BRANCHES = READ_TYPES | {OTHER_RESOURCE, OTHER_CONTAINED}

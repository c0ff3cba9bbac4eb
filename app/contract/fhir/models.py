"""The few FHIR R4 elements the ranking reads, as pydantic models, and the request that carries them.

Only what the rule uses is modelled: the Bundle and its entries; PractitionerRole (practitioner,
organization, location, contained); Practitioner and Organization (identifiers, name, addresses);
Location (address, position); in an Address, the INSEE code and geolocation extensions, postal
code and city. Every other element is ignored, as a FHIR reader may do with what it does not know
(of an extension, only its URL is looked at unless it is one of the two read). What is read is read
strictly: a string where FHIR has a string, a list where FHIR has a list, else a 422 naming the
element.
"""

# ruff: noqa: N815  (FHIR element names are camelCase: the models keep them as the JSON spells them)
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, model_validator

from app.contract.limits import MAX_FHIR_ENTRIES, MAX_PHYSICIANS
from app.contract.requests import Patient, PolicyName, WholeNumber
from app.territoriality.policies import DEFAULT_POLICY

# The extension FR Core defines for the INSEE code of an address (IG: AsAddressExtendedProfile,
# examples AsOrganizationExampleNancy/Fictive, search parameter as-sp-insee-code). FR Core's
# canonical base moved from http:// to https://; both spellings are read.
INSEE_CODE_EXTENSIONS = frozenset(
    {
        "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code",
        "http://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code",
    }
)
GEOLOCATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/geolocation"  # FHIR R4 core extension on Address

FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]  # FHIR R4 `id` datatype
ROLE, PRACTITIONER, ORGANIZATION, LOCATION = "PractitionerRole", "Practitioner", "Organization", "Location"
READ_TYPES = (ROLE, PRACTITIONER, ORGANIZATION, LOCATION)
OTHER = "other resource"


class Element(BaseModel):
    """A FHIR element: unknown members ignored, known ones strictly typed."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class Identifier(Element):
    """Told apart by `system` alone: the systems are fixed (IG examples; API documentation), and
    reading `type` too would double the cost of validating a directory's bundle (measured)."""

    system: str | None = None
    value: str | None = None


class Reference(Element):
    reference: str | None = None  # a literal reference; a logical one (identifier only) cannot be followed


class Extension(Element):
    """Only `url` is judged here. The value of an extension this service reads (the INSEE code, the
    geolocation) is judged when read (roster.py), so that the many it does not read cost nothing:
    a model validator on every extension tripled the time to validate a directory's bundle."""

    url: str | None = None
    valueCoding: Any = None
    extension: Any = None


class InseeCoding(Element):
    code: str | None = None


class Coordinate(Element):
    """A part of the geolocation extension: `latitude` or `longitude`, WGS84 degrees."""

    url: str | None = None
    valueDecimal: float | None = None

    @model_validator(mode="after")
    def in_range(self) -> Coordinate:
        bound = {"latitude": 90.0, "longitude": 180.0}.get(self.url or "")
        if bound is not None and self.valueDecimal is not None and abs(self.valueDecimal) > bound:
            raise ValueError(f"{self.url} must lie in [-{bound:g}, {bound:g}]")
        return self


class Address(Element):
    use: str | None = None
    type: str | None = None
    city: str | None = None
    postalCode: str | None = None
    extension: list[Extension] = Field(default_factory=list)


class Position(Element):
    longitude: float = Field(ge=-180, le=180)
    latitude: float = Field(ge=-90, le=90)


class Resource(Element):
    resourceType: str
    id: FhirId | None = None


class Practitioner(Resource):
    resourceType: Literal["Practitioner"]
    identifier: list[Identifier] = Field(default_factory=list)


class Organization(Resource):
    resourceType: Literal["Organization"]
    name: str | None = None
    identifier: list[Identifier] = Field(default_factory=list)
    address: list[Address] = Field(default_factory=list)


class Location(Resource):
    resourceType: Literal["Location"]
    address: Address | None = None
    position: Position | None = None


class OtherResource(Resource):
    """A resource of a type the ranking does not read (an OperationOutcome, a HealthcareService...)."""


def _resource_type(data: Any) -> str | None:
    if isinstance(data, BaseModel):
        data = {"resourceType": getattr(data, "resourceType", None)}
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return None
    kind: str = data["resourceType"]
    return kind if kind in READ_TYPES else OTHER


def _contained_type(data: Any) -> str | None:
    kind = _resource_type(data)
    return OTHER if kind == ROLE else kind


ContainedResource = Annotated[
    Annotated[Practitioner, Tag(PRACTITIONER)]
    | Annotated[Organization, Tag(ORGANIZATION)]
    | Annotated[Location, Tag(LOCATION)]
    | Annotated[OtherResource, Tag(OTHER)],
    Discriminator(_contained_type),
]


class PractitionerRole(Resource):
    resourceType: Literal["PractitionerRole"]
    practitioner: Reference | None = None
    organization: Reference | None = None
    location: list[Reference] = Field(default_factory=list)
    contained: list[ContainedResource] = Field(default_factory=list)


AnyResource = Annotated[
    Annotated[PractitionerRole, Tag(ROLE)]
    | Annotated[Practitioner, Tag(PRACTITIONER)]
    | Annotated[Organization, Tag(ORGANIZATION)]
    | Annotated[Location, Tag(LOCATION)]
    | Annotated[OtherResource, Tag(OTHER)],
    Discriminator(_resource_type),
]
UNION_TAGS = frozenset({*READ_TYPES, OTHER})  # they appear in pydantic's error locations, not in the JSON


class BundleEntry(Element):
    fullUrl: str | None = None
    resource: AnyResource | None = None


class Bundle(Element):
    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    entry: list[BundleEntry] = Field(default=[], max_length=MAX_FHIR_ENTRIES)


class FhirRankingRequest(BaseModel):
    """POST /v1/rankings/fhir: the patient, policy and limit of POST /v1/rankings, and a searchset Bundle."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # our own members, to the letter

    patient: Patient | None = None
    bundle: Bundle
    policy: PolicyName = DEFAULT_POLICY
    limit: WholeNumber | None = Field(default=None, ge=1, le=MAX_PHYSICIANS)
    format: Literal["ranking", "bundle"] = "ranking"

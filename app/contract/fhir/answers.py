"""The answers of POST /v1/rankings/fhir: the ranking answer naming the directory's identifiers, or
the Bundle itself, re-ordered and scored. Pointers into the request are built here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.contract import presenters
from app.contract.fhir.roster import Candidate, Path
from app.contract.problems import pointer
from app.geography import Geography
from app.territoriality.information_message import InformationMessage
from app.territoriality.ranking import RankedPhysician, Ranking

# The extension this service puts on `entry.search` of each ranked PractitionerRole (documented in
# openapi.yaml, schema FhirRankExtension). Its namespace is the project's, as for problem types.
RANK_EXTENSION = "urn:territorialite:fhir:extension:territorial-rank"
POLICY_SYSTEM = "urn:territorialite:policy"
WARNING_SYSTEM = "urn:territorialite:warning"
NOT_APPLICABLE_SYSTEM = "urn:territorialite:territoriality-not-applicable"
UCUM = "http://unitsofmeasure.org"
# our warning code -> FHIR R4 IssueType (http://hl7.org/fhir/issue-type)
ISSUE_TYPES = {
    "reference_unresolved": "not-found",
    "physician_unlocated": "not-found",
    "unknown_insee_code": "code-invalid",
    "unknown_postal_code": "code-invalid",
    "ambiguous_postal_code": "multiple-matches",
}


@dataclass(frozen=True, slots=True)
class RoleWarning:
    at: Path
    code: str
    detail: str


def role_warnings(candidates: Sequence[Candidate], result: Ranking) -> list[RoleWarning]:
    """What reading the bundle found, then what the engine noted, role by role in bundle order. The
    engine's notes point at the element each location field was read from."""
    engine: dict[int, list[RoleWarning]] = {}
    for w in result.classification.roster_warnings:
        candidate = candidates[w.physician]
        if candidate.site is not None:  # a role with no site has its own warning already
            at = candidate.sources.get(w.note.field, candidate.site)
            engine.setdefault(w.physician, []).append(RoleWarning(at, w.note.code, w.note.detail))
    warnings: list[RoleWarning] = []
    for index, candidate in enumerate(candidates):
        warnings.extend(RoleWarning(n.at, n.code, n.detail) for n in candidate.notes)
        warnings.extend(engine.get(index, []))
    return warnings


def ranking(
    result: Ranking, candidates: Sequence[Candidate], geography: Geography, message: InformationMessage
) -> dict[str, object]:
    """The answer of POST /v1/rankings, each entry naming the role, its practitioner and organisation."""
    body = presenters.ranking(result, geography, message)
    body["ranking"] = [ranked_role(r, candidates[r.index]) for r in result.ranking]
    body["warnings"] = [
        *(presenters.patient_warning(note) for note in result.classification.patient.notes),
        *({"pointer": pointer(*w.at), "code": w.code, "detail": w.detail} for w in role_warnings(candidates, result)),
    ]
    return body


def ranked_role(r: RankedPhysician, candidate: Candidate) -> dict[str, object]:
    practitioner, organization = candidate.practitioner, candidate.organization
    return {
        "rank": r.rank,
        "id": candidate.id,
        "pointer": pointer(*candidate.path),
        "practitioner": (
            {"id": practitioner.id, "rpps": practitioner.rpps, "idnat_ps": practitioner.idnat_ps}
            if practitioner
            else None
        ),
        "organization": (
            {"id": organization.id, "name": organization.name, "idnat_struct": organization.idnat_struct}
            if organization
            else None
        ),
        "located_by": pointer(*candidate.site) if candidate.site else None,
        "tier": r.tier.value,
        "territorial": r.territorial,
        "distance_km": r.distance_km,
        "departement": r.departement,
    }


def bundle(
    raw: dict[str, Any], result: Ranking, candidates: Sequence[Candidate], message: InformationMessage
) -> dict[str, Any]:
    """The request's Bundle: the ranked roles first, best first, each scored; then the other entries
    in their order; then, when there is something to say, an OperationOutcome (search mode
    `outcome`). Every resource is returned as it was sent."""
    entries: list[dict[str, Any]] = raw.get("entry", [])
    shown = [candidates[r.index].entry for r in result.ranking]
    roles = {c.entry for c in candidates}
    order = [*shown, *(i for i in range(len(entries)) if i not in roles)]
    new_index = {old: new for new, old in enumerate(order)}
    ranked = [_scored(entries[c], r, len(candidates), result) for c, r in zip(shown, result.ranking, strict=True)]
    others = [entries[i] for i in order[len(shown) :]]
    outcome = _outcome(result, candidates, new_index, message)
    return {**raw, "entry": [*ranked, *others, *([outcome] if outcome else [])]}


def _scored(entry: dict[str, Any], r: RankedPhysician, count: int, result: Ranking) -> dict[str, Any]:
    sent = entry.get("search")
    search = dict(sent) if isinstance(sent, dict) else {}  # a `search` that is not an object is replaced
    extensions = search.get("extension")
    kept = [
        e
        for e in (extensions if isinstance(extensions, list) else [])
        if not (isinstance(e, dict) and e.get("url") == RANK_EXTENSION)
    ]
    search["score"] = round(1 - (r.rank - 1) / count, 6)  # FHIR: "search ranking (between 0 and 1)"
    search["extension"] = [*kept, rank_extension(r, result)]
    return {**entry, "search": search}


def rank_extension(r: RankedPhysician, result: Ranking) -> dict[str, Any]:
    policy = result.classification.policy
    parts: list[dict[str, Any]] = [
        {"url": "rank", "valueInteger": r.rank},
        {"url": "tier", "valueCode": r.tier.value},
    ]
    if r.territorial is not None:
        parts.append({"url": "territorial", "valueBoolean": r.territorial})
    if r.distance_km is not None:
        quantity = {"value": r.distance_km, "unit": "km", "system": UCUM, "code": "km"}
        parts.append({"url": "distance", "valueQuantity": quantity})
    if r.departement is not None:
        parts.append({"url": "departement", "valueString": r.departement})
    coding = {"system": POLICY_SYSTEM, "version": policy.version, "code": policy.name}
    parts.append({"url": "policy", "valueCoding": coding})
    return {"url": RANK_EXTENSION, "extension": parts}


def _outcome(
    result: Ranking, candidates: Sequence[Candidate], new_index: dict[int, int], message: InformationMessage
) -> dict[str, Any] | None:
    issues = list(_issues(result, candidates, new_index, message))
    if not issues:
        return None
    return {"resource": {"resourceType": "OperationOutcome", "issue": issues}, "search": {"mode": "outcome"}}


def _issues(
    result: Ranking, candidates: Sequence[Candidate], new_index: dict[int, int], message: InformationMessage
) -> Iterator[dict[str, Any]]:
    patient = result.classification.patient
    if patient.not_applicable is not None:
        coding = {"system": NOT_APPLICABLE_SYSTEM, "code": patient.not_applicable.value}
        details = {"coding": [coding], "text": message.text}
        yield {"severity": "information", "code": "informational", "details": details}
    for note in patient.notes:
        details = {"coding": [{"system": WARNING_SYSTEM, "code": note.code}], "text": note.detail}
        yield {"severity": "warning", "code": "informational", "details": details}
    for w in role_warnings(candidates, result):
        issue: dict[str, Any] = {
            "severity": "warning",
            "code": ISSUE_TYPES.get(w.code, "informational"),
            "details": {"coding": [{"system": WARNING_SYSTEM, "code": w.code}], "text": w.detail},
        }
        entry = w.at[2]
        if isinstance(entry, int) and entry in new_index:  # a role left out by `limit` has no place
            issue["expression"] = [fhirpath(w.at, new_index[entry])]
        yield issue


def fhirpath(at: Path, entry: int) -> str:
    """('bundle', 'entry', 7, 'resource', 'address', 0, 'city'), 2 -> Bundle.entry[2].resource.address[0].city"""
    steps = ["Bundle", f"entry[{entry}]"]
    for step in at[3:]:
        if isinstance(step, int):
            steps[-1] += f"[{step}]"
        else:
            steps.append(step)
    return ".".join(steps)

"""The answers of POST /v1/rankings/fhir: the ranking answer naming the directory's identifiers, or
the Bundle itself, re-ordered and scored. Every warning names the role it is about."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.contract import presenters
from app.contract.fhir.roster import Candidate, Path, json_pointer
from app.geography import Geography
from app.territoriality.information_message import InformationMessage
from app.territoriality.locations import LocationNote
from app.territoriality.ranking import Ranking

# The extension this service puts on `entry.search` of each ranked PractitionerRole (documented in
# openapi.yaml, schema FhirRankExtension). Its namespace is the project's, as for problem types.
RANK_EXTENSION = "urn:territorialite:fhir:extension:territorial-rank"
POLICY_SYSTEM = "urn:territorialite:policy"
WARNING_SYSTEM = "urn:territorialite:warning"
NOT_APPLICABLE_SYSTEM = "urn:territorialite:territoriality-not-applicable"
UCUM = "http://unitsofmeasure.org"
OUTCOME_SEARCH = {"mode": "outcome"}
# Our warning code -> FHIR R4 IssueType (http://hl7.org/fhir/ValueSet/issue-type; the choice of each
# is argued in docs/sources.md).
ISSUE_TYPES = {
    "reference_unresolved": "not-found",  # "The reference provided was not found"
    "reference_ambiguous": "multiple-matches",  # "Multiple matching records were found ... only one match"
    "ambiguous_postal_code": "multiple-matches",
    "several_departements": "multiple-matches",
    "unknown_insee_code": "code-invalid",  # "The code or system could not be understood"
    "unknown_postal_code": "code-invalid",
    "inconsistent_location": "invariant",  # "A content validation rule failed"
    "physician_unlocated": "processing",  # "Processing issues ... no point resubmitting the same content unchanged"
    "old_commune_code": "informational",
    "physician_outside_france": "informational",
}


@dataclass(frozen=True, slots=True)
class RoleWarning:
    role: int  # the candidate's position in the roster
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
            engine.setdefault(w.physician, []).append(RoleWarning(w.physician, at, w.note.code, w.note.detail))
    warnings: list[RoleWarning] = []
    for index, candidate in enumerate(candidates):
        warnings.extend(RoleWarning(index, n.at, n.code, n.detail) for n in candidate.notes)
        warnings.extend(engine.get(index, []))
    return warnings


def ranking(
    result: Ranking, candidates: Sequence[Candidate], geography: Geography, message: InformationMessage
) -> dict[str, object]:
    """The answer of POST /v1/rankings, each entry naming the role, its practitioner and organisation."""
    classification = result.classification
    patient = classification.patient
    reason = patient.not_applicable
    _, tiers, territorial, distances, departements = result.columns()
    rows = zip(result.shown.tolist(), tiers, territorial, distances, departements, strict=True)
    ranked = [ranked_role(rank, candidates[i], t, f, km, d) for rank, (i, t, f, km, d) in enumerate(rows, start=1)]
    return {
        "territoriality": {"applicable": reason is None, "reason": reason},
        "patient": presenters.place(patient.place, geography),
        "information_message": presenters.information_message(message) if reason else None,
        "ranking": ranked,
        "policy": presenters.policy_reference(classification.policy),
        "warnings": [
            *({**presenters.patient_warning(note), "role": None} for note in patient.notes),
            *(
                {"pointer": json_pointer(w.at), "code": w.code, "detail": w.detail, "role": role_of(candidates[w.role])}
                for w in role_warnings(candidates, result)
            ),
        ],
    }


def ranking_parts(answer: Mapping[str, Any]) -> Iterator[object]:
    """The ranking answer in parts whose JSON, joined, is its JSON: each ranked role and warning on
    its own, and the rest."""
    yield {name: value for name, value in answer.items() if name not in ("ranking", "warnings")}
    yield from answer["ranking"]
    yield from answer["warnings"]


def bundle_parts(answer: Mapping[str, Any]) -> Iterator[object]:
    """The Bundle answer in parts: each entry on its own, each issue of its OperationOutcome (the last
    entry, when there is one) too, and the rest."""
    yield {name: value for name, value in answer.items() if name != "entry"}
    issues = outcome_issues(answer)
    yield from answer["entry"][: -1 if issues else None]
    yield from issues


def outcome_issues(answer: Mapping[str, Any]) -> list[Any]:
    """The issues of the Bundle answer's OperationOutcome: its last entry's, when it is ours."""
    last = answer["entry"][-1] if answer["entry"] else None
    if isinstance(last, dict) and last.get("search") is OUTCOME_SEARCH:  # not an entry sent
        issues: list[Any] = last["resource"]["issue"]
        return issues
    return []


def role_of(candidate: Candidate) -> dict[str, object]:
    return {"id": candidate.id, "pointer": json_pointer(candidate.path)}


def ranked_role(
    rank: int,
    candidate: Candidate,
    tier: str,
    territorial: bool | None,
    distance_km: float | None,
    departement: str | None,
) -> dict[str, object]:
    practitioner, organization = candidate.practitioner, candidate.organization
    return {
        "rank": rank,
        "id": candidate.id,
        "pointer": json_pointer(candidate.path),
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
        "located_by": candidate.located_by,
        "tier": tier,
        "territorial": territorial,
        "distance_km": distance_km,
        "departement": departement,
    }


def bundle(
    raw: dict[str, Any],
    result: Ranking,
    candidates: Sequence[Candidate],
    duplicate_of: Mapping[int, int],
    message: InformationMessage,
) -> dict[str, Any]:
    """The request's Bundle: the ranked roles first, best first, each scored; then the other entries
    in their order; then, when there is something to say, an OperationOutcome (search mode
    `outcome`). Every resource is returned as it was sent, each once (an entry repeating an earlier
    one whole is left out). With a limit, the roles left out go, and so do the entries only they
    referenced, and what was said of them."""
    entries: list[Any] = raw.get("entry") or []
    shown = result.shown.tolist()
    kept_roles = {candidates[i].entry for i in shown}
    referenced = {e for c in candidates for e in c.references}
    referenced_by_shown = {e for i in shown for e in candidates[i].references}
    roles = {c.entry for c in candidates}
    others = [
        i
        for i in range(len(entries))
        if i not in roles and i not in duplicate_of and (i in referenced_by_shown or i not in referenced)
    ]
    order = [candidates[i].entry for i in shown] + others
    new_index = {old: new for new, old in enumerate(order)}
    _, tiers, territorial, distances, departements = result.columns()
    policy = result.classification.policy
    scored = [
        _scored(entries[candidates[i].entry], rank, len(candidates), tier, flag, km, dep, policy.name, policy.version)
        for rank, (i, tier, flag, km, dep) in enumerate(zip(shown, tiers, territorial, distances, departements,
                                                              strict=True), start=1)
    ]  # fmt: skip
    outcome = _outcome(result, candidates, kept_roles, new_index, message)
    return {**raw, "entry": [*scored, *(entries[i] for i in others), *([outcome] if outcome else [])]}


def _scored(
    entry: Any,
    rank: int,
    count: int,
    tier: str,
    territorial: bool | None,
    distance_km: float | None,
    departement: str | None,
    policy: str,
    version: str,
) -> dict[str, Any]:
    sent = entry.get("search")
    search = dict(sent) if isinstance(sent, dict) else {}  # a `search` that is not an object is replaced
    extensions = search.get("extension")
    kept = [
        e
        for e in (extensions if isinstance(extensions, list) else [])
        if not (isinstance(e, dict) and e.get("url") == RANK_EXTENSION)
    ]
    search["score"] = round(1 - (rank - 1) / count, 6)  # FHIR: "search ranking (between 0 and 1)"
    parts: list[dict[str, Any]] = [{"url": "rank", "valueInteger": rank}, {"url": "tier", "valueCode": tier}]
    if territorial is not None:
        parts.append({"url": "territorial", "valueBoolean": territorial})
    if distance_km is not None:
        quantity = {"value": distance_km, "unit": "km", "system": UCUM, "code": "km"}
        parts.append({"url": "distance", "valueQuantity": quantity})
    if departement is not None:
        parts.append({"url": "departement", "valueString": departement})
    parts.append({"url": "policy", "valueCoding": {"system": POLICY_SYSTEM, "version": version, "code": policy}})
    search["extension"] = [*kept, {"url": RANK_EXTENSION, "extension": parts}]
    return {**entry, "search": search}


def _outcome(
    result: Ranking,
    candidates: Sequence[Candidate],
    kept_roles: set[int],
    new_index: dict[int, int],
    message: InformationMessage,
) -> dict[str, Any] | None:
    issues = list(_issues(result, candidates, kept_roles, new_index, message))
    if not issues:
        return None
    return {"resource": {"resourceType": "OperationOutcome", "issue": issues}, "search": OUTCOME_SEARCH}


def _issue(code: str, text: str, expression: list[str] | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "severity": "warning",
        "code": ISSUE_TYPES.get(code, "informational"),
        "details": {"coding": [{"system": WARNING_SYSTEM, "code": code}], "text": text},
    }
    if expression:
        issue["expression"] = expression
    return issue


def _issues(
    result: Ranking,
    candidates: Sequence[Candidate],
    kept_roles: set[int],
    new_index: dict[int, int],
    message: InformationMessage,
) -> Iterator[dict[str, Any]]:
    patient = result.classification.patient
    if patient.not_applicable is not None:
        coding = {"system": NOT_APPLICABLE_SYSTEM, "code": patient.not_applicable.value}
        details = {"coding": [coding], "text": message.text}
        yield {"severity": "information", "code": "informational", "details": details}
    for note in patient.notes:
        yield _patient_issue(note)
    for w in role_warnings(candidates, result):
        role = candidates[w.role]
        if role.entry not in kept_roles:  # a role left out by `limit`: nothing is said of it
            continue
        named = f"PractitionerRole/{role.id}" if role.id else f"the PractitionerRole of entry {role.entry}"
        expression = [fhirpath(at, new_index[at[2]]) for at in (w.at, role.path) if at[2] in new_index]
        yield _issue(w.code, f"{named}: {w.detail}", expression)


def _patient_issue(note: LocationNote) -> dict[str, Any]:
    return _issue(note.code, f"patient: {note.detail}")


def fhirpath(at: Path, entry: int) -> str:
    """('bundle', 'entry', 7, 'resource', 'address', 0, 'city'), 2 -> Bundle.entry[2].resource.address[0].city"""
    steps = ["Bundle", f"entry[{entry}]"]
    for step in at[3:]:
        if isinstance(step, int):
            steps[-1] += f"[{step}]"
        else:
            steps.append(step)
    return ".".join(steps)

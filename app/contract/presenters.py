"""Domain results -> JSON-ready dicts, in the shapes openapi.yaml documents."""

from __future__ import annotations

from app.contract.problems import pointer
from app.geography import Geography
from app.territoriality.information_message import InformationMessage
from app.territoriality.locations import LocationNote, Place
from app.territoriality.policies import Policy
from app.territoriality.ranking import Ranking, RosterWarning
from app.territoriality.rulings import Aspect, Catalogue, MissingFact, Ruling
from app.territoriality.scenarios import Check, Evaluation, ScenarioWarning, ShownPhysician


def information_message(message: InformationMessage) -> dict[str, str]:
    return {
        "requirement": message.requirement,
        "id": message.id,
        "version": message.version,
        "language": message.language,
        "text": message.text,
        "source": message.source,
        "sha256": message.sha256,
    }


def policy_reference(policy: Policy) -> dict[str, str]:
    return {"name": policy.name, "version": policy.version}


def policy_description(policy: Policy) -> dict[str, object]:
    return {
        **policy_reference(policy),
        "summary": policy.summary,
        "tiers": list(policy.tier_order),
        "territorial_tiers": sorted(policy.territorial),
    }


def ranking(result: Ranking, geography: Geography, message: InformationMessage) -> dict[str, object]:
    classification = result.classification
    patient = classification.patient
    reason = patient.not_applicable
    return {
        "territoriality": {"applicable": reason is None, "reason": reason},
        "patient": place(patient.place, geography),
        "information_message": information_message(message) if reason else None,
        "ranking": ranked_physicians(result),
        "policy": policy_reference(classification.policy),
        "warnings": [
            *(patient_warning(note) for note in patient.notes),
            *(roster_warning(w, pointer("physicians")) for w in classification.roster_warnings),
        ],
    }


def ranked_physicians(result: Ranking) -> list[dict[str, object]]:
    """One row per physician shown, built in one pass over the ranking's columns."""
    return [
        {"rank": rank, "id": i, "tier": t, "territorial": f, "distance_km": km, "departement": d}
        for rank, (i, t, f, km, d) in enumerate(zip(*result.columns(), strict=True), start=1)
    ]


def place(patient: Place | None, geography: Geography) -> dict[str, object] | None:
    if patient is None:
        return None
    regions = sorted({r for r in (geography.region_of(d) for d in patient.departements) if r})
    return {
        "departements": list(patient.departements),
        "region": regions[0] if len(regions) == 1 else None,
        "regions": regions,
        "commune": patient.commune,
        "coordinates": {"lat": patient.point.lat, "lon": patient.point.lon} if patient.point else None,
        "decided_by": patient.decided_by.value,
    }


def warning(at: str, note: LocationNote) -> dict[str, str]:
    return {"pointer": at, "code": note.code, "detail": note.detail}


def patient_warning(note: LocationNote) -> dict[str, str]:
    return warning(pointer("patient", "location", note.field), note)


def roster_warning(w: RosterWarning, roster: str) -> dict[str, str]:
    return warning(roster + pointer(w.physician, "location", w.note.field), w.note)


def scenario_warning(w: ScenarioWarning) -> dict[str, str]:
    if w.physician is None:
        return patient_warning(w.note)
    assert w.offer is not None
    return warning(pointer("proposals", w.offer, w.physician, "location", w.note.field), w.note)


def evaluation(result: Evaluation) -> dict[str, object]:
    return {
        "verdict": result.verdict,
        "verdict_ruling": result.verdict_ruling,
        "verdict_basis": result.verdict_basis,
        "territoriality_applicable": result.territoriality_applicable,
        "ordering_judged": result.ordering_judged,
        "checks": [check(c) for c in result.checks],
        "policy": policy_reference(result.policy),
        "rulings_version": result.rulings_version,
        "warnings": [scenario_warning(w) for w in result.warnings],
    }


def check(c: Check) -> dict[str, object]:
    body: dict[str, object] = {
        "requirement": c.requirement,
        "aspect": c.aspect,
        "offer": c.offer.value if c.offer else None,
        "status": c.status,
        "ruling": c.ruling,
        "reason": c.reason,
        "missing_fact": missing_fact(c),
    }
    if c.aspect is Aspect.ORDERING:
        body["territorial_proposed"] = c.territorial_proposed
        body["territorial_first"] = c.territorial_first
        body["violation"] = (
            {"shown_first": shown(c.violation.shown_first), "better_shown_after": shown(c.violation.better_shown_after)}
            if c.violation
            else None
        )
    return body


def missing_fact(c: Check) -> str | None:
    """The request field that would decide an inconclusive check."""
    if c.missing is None:
        return None
    if c.missing is MissingFact.PATIENT_LOCATION:
        return pointer("patient", "location")
    offer = c.missing_offer or c.offer
    if c.missing is MissingFact.DECIDING_LOCATION:
        assert c.deciding is not None
        where = ("patient",) if c.deciding.physician is None else ("proposals", offer or "", c.deciding.physician)
        return pointer(*where, "location", *([c.deciding.field] if c.deciding.field else []))
    return pointer(c.missing, offer) if offer else pointer(c.missing)


def shown(s: ShownPhysician) -> dict[str, object]:
    return {"id": s.id, "position": s.position, "tier": s.tier.value}


def catalogue(c: Catalogue) -> dict[str, object]:
    return {
        "version": c.version,
        "source_document": c.source_document,
        "rulings": [ruling(r) for r in c.rulings.values()],
    }


def ruling(r: Ruling) -> dict[str, object]:
    return {
        "id": r.id,
        "kind": r.kind,
        "requirement": r.requirement,
        "summary": r.summary,
        "quote": r.quote,
        "source": r.source,
    }

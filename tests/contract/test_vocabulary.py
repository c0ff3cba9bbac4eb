"""openapi.yaml keeps in step with the code: every enum and limit it states is the code's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.contract import limits
from app.contract.fhir.roster import FhirWarningCode
from app.territoriality.locations import LocationField, WarningCode
from app.territoriality.patients import NotApplicableReason
from app.territoriality.policies import POLICIES, Tier
from app.territoriality.rulings import Aspect, CheckStatus, RulingKind, Verdict
from app.territoriality.scenarios import Channel, Offer

SCHEMAS = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text(encoding="utf-8"))["components"][
    "schemas"
]


def at(path: str) -> Any:
    node: Any = SCHEMAS
    for step in path.split("."):
        node = node[step]
    return node


def enum(path: str) -> set[str]:
    return {value for value in at(path)["enum"] if value is not None}


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("PolicyName", set(POLICIES)),
        ("Tier", {t.value for t in Tier}),
        ("Channel", {c.value for c in Channel}),
        ("Check.properties.aspect", {a.value for a in Aspect}),
        ("Check.properties.status", {s.value for s in CheckStatus}),
        ("Check.properties.offer", {o.value for o in Offer}),
        ("ScenarioEvaluation.properties.verdict", {v.value for v in Verdict}),
        ("Ruling.properties.kind", {k.value for k in RulingKind}),
        ("ResolvedPlace.properties.decided_by", {f.value for f in LocationField}),
        ("RankingResponse.properties.territoriality.properties.reason", {r.value for r in NotApplicableReason}),
        ("Warning.properties.code", {c.value for c in WarningCode}),
        ("FhirWarning.properties.code", {c.value for c in WarningCode} | {c.value for c in FhirWarningCode}),
    ],
)
def test_openapi_enum_is_the_code_s(path: str, values: set[str]) -> None:
    assert enum(path) == values


@pytest.mark.parametrize(
    ("path", "keyword", "value"),
    [
        ("RankingRequest.properties.physicians", "maxItems", limits.MAX_PHYSICIANS),
        ("ProposalList", "maxItems", limits.MAX_PROPOSALS),
        ("AuditRequest.properties.sessions", "maxItems", limits.MAX_SESSIONS_PER_AUDIT),
        ("Physician.properties.id", "maxLength", limits.MAX_PHYSICIAN_ID_LENGTH),
        ("RecordedSession.properties.session_id", "maxLength", limits.MAX_SESSION_ID_LENGTH),
        ("Problem.properties.errors", "maxItems", limits.MAX_FIELD_ERRORS),
    ],
)
def test_openapi_limit_is_the_code_s(path: str, keyword: str, value: int) -> None:
    assert at(path)[keyword] == value

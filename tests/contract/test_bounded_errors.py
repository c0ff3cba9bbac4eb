"""No answer grows with the number of mistakes: field errors are listed up to a fixed number, and
counted beyond it (per problem, per session of an audit, and per audit answer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from app.contract import operations
from app.contract.limits import MAX_AUDIT_FIELD_ERRORS, MAX_FIELD_ERRORS
from app.contract.problems import ProblemError, from_validation_error, pointer
from app.contract.requests import RANKING_REQUEST

SESSION = {
    "session_id": "s",
    "timestamp": "2026-11-20T10:00:00Z",
    "channel": "video",
    "offers": {"with_appointment": True, "without_appointment": False},
    "information_message_shown": True,
    "location_input_offered": True,
}


def refusal(reference: operations.Reference, document: object) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        operations.rank(reference, json.dumps(document).encode())
    return caught.value


def test_a_problem_lists_the_first_errors_and_counts_them_all(reference: operations.Reference) -> None:
    unknown = {f"k{i}": 0 for i in range(5_000)}
    problem = refusal(reference, {"physicians": [{"id": "a", "location": {"commune": "13055"}}], **unknown})
    body: dict[str, Any] = problem.body()
    assert len(body["errors"]) == MAX_FIELD_ERRORS
    assert body["error_count"] == 5_000
    assert body["detail"] == "5000 invalid field(s); the first 100 of 5000 errors are listed"
    assert body["errors"][0] == {"pointer": "/k0", "detail": "unknown field"}


def test_the_first_errors_are_the_same_however_many_follow() -> None:
    """Past the limit they are read from pydantic's JSON rendering: the same errors as errors() gives."""
    document = {"physicians": [{"id": "", "location": {"commune": "1"}} for _ in range(80)], "limit": 0}
    with pytest.raises(ValidationError) as caught:
        RANKING_REQUEST.validate_json(json.dumps(document))
    error = caught.value
    assert error.error_count() > MAX_FIELD_ERRORS
    expected = [(pointer(*e["loc"]), e["msg"]) for e in error.errors()[:MAX_FIELD_ERRORS]]
    problem = from_validation_error(error)
    assert [(e.pointer, e.detail) for e in problem.errors] == expected
    assert problem.error_count == error.error_count()


def test_few_errors_are_all_listed_without_a_count(reference: operations.Reference) -> None:
    body = refusal(reference, {"physicians": [], "colour": "blue"}).body()
    assert len(body["errors"]) == 2  # type: ignore[arg-type]
    assert "error_count" not in body
    assert body["detail"] == "2 invalid field(s)"


def test_duplicate_ids_are_bounded_too(reference: operations.Reference) -> None:
    physicians = [{"id": "same", "location": {"commune": "13055"}} for _ in range(151)]
    body: dict[str, Any] = refusal(reference, {"physicians": physicians}).body()
    assert len(body["errors"]) == MAX_FIELD_ERRORS
    assert body["error_count"] == 150


def test_an_audit_lists_errors_per_session_and_in_all(reference: operations.Reference) -> None:
    empty_proposals: dict[str, list[dict[str, object]]] = {"with_appointment": [{}] * 400}  # two errors per proposal
    sessions = [{**SESSION, "session_id": f"s{i}", "proposals": empty_proposals} for i in range(15)]
    answer: dict[str, Any] = operations.audit(
        reference, json.dumps({"sessions": [*sessions, {**SESSION, "channel": "fax"}]}).encode()
    )
    reports = answer["sessions"]
    assert [len(r["errors"]) for r in reports] == [MAX_FIELD_ERRORS] * 10 + [0] * 6
    assert sum(len(r["errors"]) for r in reports) == MAX_AUDIT_FIELD_ERRORS
    assert {r["error_count"] for r in reports[:15]} == {800}
    assert reports[15]["error_count"] == 1
    assert answer["summary"]["sessions"]["invalid"] == 16

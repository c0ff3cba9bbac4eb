"""The scenario decision table: every combination of channel, offers, location, message shown,
location input and order, with the verdict and the rulings cited.

docs/decision-table.csv is the reviewed table; docs/decision-table.md is rendered from it; the
tests send every row to a live server and compare. After a change of rulings.yaml, regenerate the
CSV with `python -m app.conformance.decision_table propose`, review the diff, then `render` (from
the repository's top, or with --docs: both files belong to the repository, not to the package).
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

TABLE_CSV = "decision-table.csv"  # in the repository's docs/
TABLE_MD = "decision-table.md"

CHANNELS = ("video", "phone_to_video", "phone")
OFFERS: Mapping[str, dict[str, bool]] = {
    "appointment_only": {"with_appointment": True, "without_appointment": False},
    "walk_in_only": {"with_appointment": False, "without_appointment": True},
    "both_walk_in_after": {
        "with_appointment": True,
        "without_appointment": True,
        "without_appointment_only_after_appointments": True,
    },
    "both_walk_in_first": {
        "with_appointment": True,
        "without_appointment": True,
        "without_appointment_only_after_appointments": False,
    },
}
LOCATIONS = ("given", "declined", "not_given")
YES_NO = ("yes", "no")
INPUT_COLUMNS = ("channel", "offers", "location", "message_shown", "location_input", "proposals")
OUTPUT_COLUMNS = ("etht01", "location_input_check", "with_appointment", "without_appointment", "verdict")

MARSEILLE = {"id": "dr-marseille", "location": {"commune": "13055"}}  # the patient's département (13)
AVIGNON = {"id": "dr-avignon", "location": {"commune": "84007"}}  # adjacent (84)
PARIS = {"id": "dr-paris", "location": {"commune": "75056"}}  # elsewhere (75)
# what the platform showed for every offer made, and what it states of the territory's availability
PROPOSALS: Mapping[str, tuple[list[dict[str, Any]] | None, bool | None]] = {
    "territorial_first": ([MARSEILLE, AVIGNON, PARIS], None),
    "territorial_first_then_misordered": ([MARSEILLE, PARIS, AVIGNON], None),
    "territorial_not_first": ([PARIS, MARSEILLE], None),
    "none_territorial_availability_unknown": ([AVIGNON, PARIS], None),
    "none_territorial_none_available": ([AVIGNON, PARIS], False),
    "none_territorial_one_available": ([AVIGNON, PARIS], True),
    "not_given": (None, None),
}


def combinations() -> Iterator[dict[str, str]]:
    for values in itertools.product(CHANNELS, OFFERS, LOCATIONS, YES_NO, YES_NO, PROPOSALS):
        yield dict(zip(INPUT_COLUMNS, values, strict=True))


def request_for(row: Mapping[str, str]) -> dict[str, Any]:
    """The POST /v1/scenario-evaluations body a row describes (patient in Marseille when given)."""
    offers = OFFERS[row["offers"]]
    made = [offer for offer in ("with_appointment", "without_appointment") if offers.get(offer)]
    shown, available = PROPOSALS[row["proposals"]]
    body: dict[str, Any] = {
        "channel": row["channel"],
        "offers": offers,
        "information_message_shown": row["message_shown"] == "yes",
        "location_input_offered": row["location_input"] == "yes",
    }
    if row["location"] != "not_given":  # not given: the caller says nothing of the patient's location
        body["patient"] = {"location": {"postal_code": "13001"} if row["location"] == "given" else None}
    if shown is not None:
        body["proposals"] = dict.fromkeys(made, shown)
    if available is not None:
        body["territorial_physician_available"] = dict.fromkeys(made, available)
    return body


def outcome_of(response: Mapping[str, Any]) -> dict[str, str]:
    """The output columns, read from a POST /v1/scenario-evaluations answer."""
    cells = dict.fromkeys(OUTPUT_COLUMNS, "—")
    for check in response["checks"]:
        column = {"information_message": "etht01", "location_input": "location_input_check"}.get(
            check["aspect"], check["offer"]
        )
        cells[column] = f"{check['status']} ({check['ruling']})"
    ruling, basis = response.get("verdict_ruling"), response.get("verdict_basis")
    cells["verdict"] = response["verdict"] + (f" ({ruling})" if ruling else "") + (f" [{basis}]" if basis else "")
    return cells


def read_table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_table(rows: list[dict[str, str]], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*INPUT_COLUMNS, *OUTPUT_COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def render_markdown(rows: list[dict[str, str]]) -> str:
    header = [*INPUT_COLUMNS, *OUTPUT_COLUMNS]
    lines = [
        "# Scenario decision table",
        "",
        "Generated from `docs/decision-table.csv` (`python -m app.conformance.decision_table render`); the test",
        "suite sends every row to a live server, so this page and the service cannot drift apart.",
        "",
        "Each row is one POST /v1/scenario-evaluations, one combination of: channel; offers; the patient's",
        "location (`given`: postal code 13001, Marseille; `declined`: `patient.location` null; `not_given`:",
        "no `patient` at all); the ETHT.01 message shown or not; a location input offered or not; and the",
        "proposals. Every offer made shows the same physicians (`proposals`): of Marseille (13, the",
        "patient's département), Avignon (84, adjacent) and Paris (75), in the order the value names,",
        "and, for the `none_territorial_*` values, what the platform states of the availability of a",
        "physician of the territory (`territorial_physician_available`); `not_given` sends no proposals.",
        "A cell gives the check's status and the ruling it cites (GET /v1/rulings, or",
        "`app/territoriality/rulings.yaml`; P-* rulings are this project's rules, FAQ-* the ANS FAQ's).",
        "The verdict says in brackets what it rests on: `source` when a failed check applies a public source",
        "as it stands, `project_choice` when a failure rests on this project's rules or on a source applied",
        "through a project choice (FAQ-TLC-7: which physicians are near is the policy's; FAQ-TLC-6: said",
        "of the phone pathway turned into video, applied here to every channel).",
        "",
        "| # | " + " | ".join(header) + " |",
        "|" + "---|" * (len(header) + 1),
    ]
    lines += [f"| {i} | " + " | ".join(row[c] for c in header) + " |" for i, row in enumerate(rows, start=1)]
    return "\n".join(lines) + "\n"


def propose() -> list[dict[str, str]]:
    """The table as the in-process engine answers it today: for review, never as its own test oracle."""
    from app.contract import operations
    from app.geography import load_geography
    from app.territoriality.rulings import load_catalogue

    reference = operations.Reference(load_geography(), load_catalogue())
    return [
        {**row, **outcome_of(operations.evaluate(reference, json.dumps(request_for(row)).encode()))}
        for row in combinations()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["propose", "render"])
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the repository's docs/ (default: ./docs)")
    args = parser.parse_args()
    if args.action == "propose":
        write_table(propose(), args.docs / TABLE_CSV)
    (args.docs / TABLE_MD).write_text(render_markdown(read_table(args.docs / TABLE_CSV)), encoding="utf-8")


if __name__ == "__main__":
    main()

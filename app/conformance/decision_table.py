"""The scenario decision table: every combination of channel, offers, location, message shown,
location input and order, with the verdict and the rulings cited.

docs/decision-table.csv is the reviewed table; docs/decision-table.md is rendered from it; the
tests send every row to a live server and compare. After a change of rulings.yaml, regenerate the
CSV with `python -m app.conformance.decision_table propose`, review the diff, then `render`.
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

DOCS = Path(__file__).resolve().parents[2] / "docs"
TABLE_CSV = DOCS / "decision-table.csv"
TABLE_MD = DOCS / "decision-table.md"

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
LOCATIONS = ("given", "declined")
YES_NO = ("yes", "no")
ORDERS = ("respected", "violated")
INPUT_COLUMNS = ("channel", "offers", "location", "message_shown", "location_input", "order")
OUTPUT_COLUMNS = ("etht01", "location_input_check", "with_appointment", "without_appointment", "verdict")

TERRITORIAL = {"id": "dr-marseille", "location": {"commune": "13055"}}
FAR_AWAY = {"id": "dr-paris", "location": {"commune": "75056"}}


def combinations() -> Iterator[dict[str, str]]:
    for values in itertools.product(CHANNELS, OFFERS, LOCATIONS, YES_NO, YES_NO, ORDERS):
        yield dict(zip(INPUT_COLUMNS, values, strict=True))


def request_for(row: Mapping[str, str]) -> dict[str, Any]:
    """The POST /v1/scenario-evaluations body a row describes (patient in Marseille when given)."""
    offers = OFFERS[row["offers"]]
    shown = [TERRITORIAL, FAR_AWAY] if row["order"] == "respected" else [FAR_AWAY, TERRITORIAL]
    return {
        "channel": row["channel"],
        "offers": offers,
        "information_message_shown": row["message_shown"] == "yes",
        "location_input_offered": row["location_input"] == "yes",
        "patient": {"location": {"postal_code": "13001"} if row["location"] == "given" else None},
        "proposals": {offer: shown for offer in ("with_appointment", "without_appointment") if offers.get(offer)},
    }


def outcome_of(response: Mapping[str, Any]) -> dict[str, str]:
    """The output columns, read from a POST /v1/scenario-evaluations answer."""
    cells = dict.fromkeys(OUTPUT_COLUMNS, "—")
    for check in response["checks"]:
        column = {"information_message": "etht01", "location_input": "location_input_check"}.get(
            check["aspect"], check["offer"]
        )
        cells[column] = f"{check['status']} ({check['ruling']})"
    ruling = response.get("verdict_ruling")
    cells["verdict"] = response["verdict"] + (f" ({ruling})" if ruling else "")
    return cells


def read_table(path: Path = TABLE_CSV) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_table(rows: list[dict[str, str]], path: Path = TABLE_CSV) -> None:
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
        "Each row is one POST /v1/scenario-evaluations: the patient gives postal code 13001 (Marseille) or",
        "declines; the proposals of every offer show a physician of Marseille (same département) and one",
        "of Paris, in that order (`respected`) or the reverse (`violated`). A cell gives the check's",
        "status and the ruling it cites (rulings: GET /v1/rulings, or `app/territoriality/rulings.yaml`).",
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
    action = parser.parse_args().action
    if action == "propose":
        write_table(propose())
    TABLE_MD.write_text(render_markdown(read_table()), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Synthetic recorded sessions, for trying the audit and for benchmarks (deterministic by seed)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

PATIENT_POSTAL_CODES = ["13001", "75015", "69003", "33000", "59000", "20000", "97200", "01200", "67000", "31000"]
PHYSICIAN_COMMUNES = ["13055", "75056", "69123", "33063", "59350", "2A004", "97209", "74010", "67482", "31555", "84007"]
START = datetime(2026, 11, 1, 8, tzinfo=UTC)


def session(rng: random.Random, number: int) -> dict[str, object]:
    with_appointment = rng.random() < 0.8
    without_appointment = not with_appointment or rng.random() < 0.4
    declined = rng.random() < 0.1
    body: dict[str, object] = {
        "session_id": f"s{number:07d}",
        "timestamp": (START + timedelta(minutes=7 * number)).isoformat(),
        "channel": rng.choices(["video", "phone_to_video", "phone"], weights=[85, 10, 5])[0],
        "offers": {
            "with_appointment": with_appointment,
            "without_appointment": without_appointment,
            "without_appointment_only_after_appointments": rng.random() < 0.5,
        },
        "information_message_shown": rng.random() < 0.95,
        "location_input_offered": rng.random() < 0.97,
        "patient": {"location": None if declined else {"postal_code": rng.choice(PATIENT_POSTAL_CODES)}},
    }
    offered = [o for o in ("with_appointment", "without_appointment") if body["offers"][o]]  # type: ignore[index]
    body["proposals"] = {
        offer: [
            {"id": f"p{i}", "location": {"commune": rng.choice(PHYSICIAN_COMMUNES)}} for i in range(rng.randint(1, 8))
        ]
        for offer in offered
    }
    if rng.random() < 0.5:  # some platforms record whether a physician of the territory was available
        body["territorial_physician_available"] = {offer: rng.random() < 0.3 for offer in offered}
    return body


def sessions(count: int, seed: int = 1) -> Iterator[dict[str, object]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    for number in range(count):
        yield session(rng, number)


def write_jsonl(path: Path, count: int, seed: int = 1) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for item in sessions(count, seed):
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path

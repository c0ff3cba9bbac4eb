"""The golden file: requests and the exact answers a live server gave them."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

GOLDEN_FILE = Path(__file__).with_name("answers.jsonl.gz")


@dataclass(frozen=True)
class Exchange:
    request: dict[str, Any]
    status: int
    content_type: str
    body: str


def encoded(request: dict[str, Any]) -> dict[str, Any]:
    """The request with its body as the exact JSON text sent (audits answer with its SHA-256)."""
    body = request["body"]
    return {**request, "body": None if body is None else json.dumps(body, ensure_ascii=False)}


def answer(client: httpx.Client, request: dict[str, Any]) -> tuple[int, str, str]:
    """`request` as `encoded` gives it."""
    headers = {"content-type": "application/json"} if request["body"] is not None else {}
    body = request["body"].encode("utf-8") if request["body"] is not None else None
    response = client.request(request["method"], request["path"], content=body, headers=headers)
    return response.status_code, response.headers.get("content-type", ""), response.text


def read_exchanges(path: Path = GOLDEN_FILE) -> list[Exchange]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [Exchange(**json.loads(line)) for line in lines]


def write_exchanges(exchanges: Iterable[Exchange], path: Path = GOLDEN_FILE) -> None:
    text = "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in exchanges)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:  # reproducible bytes
        out.write(text.encode("utf-8"))

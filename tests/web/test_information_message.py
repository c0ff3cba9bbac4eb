from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

ETHT01_SHA256 = "5fdd470bf50e5204cdbfb6dddb8fd6a1a2f32d0a405bb34e57f61f691b07218d"
ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "docs/reference/ans-faq-teleconsultation.txt"


def test_message_is_served_byte_for_byte(client: httpx.Client) -> None:
    response = client.get("/v1/information-message")
    assert response.status_code == 200
    message = response.json()
    assert hashlib.sha256(message["text"].encode("utf-8")).hexdigest() == ETHT01_SHA256
    assert message["sha256"] == ETHT01_SHA256
    assert message["requirement"] == "ETHT.01"
    assert message["language"] == "fr"
    assert "d’optimiser" in message["text"]
    assert message["text"].startswith("Votre localisation vous est demandée afin de vous mettre prioritairement")


def test_the_message_is_the_one_the_faq_quotes() -> None:
    product = ROOT / "app/territoriality/etht01_message.txt"
    assert hashlib.sha256(product.read_bytes()).hexdigest() == ETHT01_SHA256
    [quoted] = re.findall(r'"(Votre localisation[^"]+)"', FAQ.read_text(encoding="utf-8"))
    assert product.read_text(encoding="utf-8") == quoted

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

ETHT01_SHA256 = "5fdd470bf50e5204cdbfb6dddb8fd6a1a2f32d0a405bb34e57f61f691b07218d"
REFERENCE = Path(__file__).resolve().parents[3] / "shared/reference/etht01-message.txt"


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


def test_product_copy_matches_the_shared_reference_when_present() -> None:
    product = Path(__file__).resolve().parents[2] / "app/territoriality/etht01_message.txt"
    assert hashlib.sha256(product.read_bytes()).hexdigest() == ETHT01_SHA256
    if REFERENCE.exists():
        assert product.read_bytes() == REFERENCE.read_bytes()

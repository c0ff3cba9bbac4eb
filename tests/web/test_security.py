"""Optional API keys and CORS, off by default, configured from the environment."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live_server import LiveServer

BODY = {"physicians": [{"id": "a", "location": {"commune": "13055"}}]}


@pytest.fixture(scope="module")
def guarded() -> Iterator[LiveServer]:
    server = LiveServer(
        env={"TERRITORIALITE_API_KEYS": "first-key,second-key", "TERRITORIALITE_CORS_ORIGINS": "https://front.example"}
    ).start()
    yield server
    server.stop()


def test_no_key_required_by_default(client: httpx.Client) -> None:
    assert client.post("/v1/rankings", json=BODY).status_code == 200


def test_keys_are_required_on_the_api_when_configured(guarded: LiveServer) -> None:
    with httpx.Client(base_url=guarded.base_url) as client:
        missing = client.post("/v1/rankings", json=BODY)
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"] == "ApiKey"
        assert client.post("/v1/rankings", json=BODY, headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.post("/v1/rankings", json=BODY, headers={"X-API-Key": "second-key"}).status_code == 200
        assert client.get("/v1/rulings", headers={"X-API-Key": "first-key"}).status_code == 200
        # operations and the sandbox stay open for probes and people
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/docs").status_code == 200


def test_cors_off_by_default(client: httpx.Client) -> None:
    response = client.options(
        "/v1/rankings", headers={"Origin": "https://front.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_configured_origin_only(guarded: LiveServer) -> None:
    with httpx.Client(base_url=guarded.base_url) as client:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        }
        allowed = client.options("/v1/rankings", headers={"Origin": "https://front.example", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://front.example"
        other = client.options("/v1/rankings", headers={"Origin": "https://evil.example", **preflight})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"


def test_sandbox_pages_carry_a_content_security_policy(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "https://" not in page.text  # no CDN

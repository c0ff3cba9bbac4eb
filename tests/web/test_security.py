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


@pytest.mark.parametrize(
    ("path", "cache_control", "csp"),
    [
        ("/v1/policies", "no-store", "default-src 'none'; frame-ancestors 'none'"),
        ("/docs", "no-store", "script-src 'self'"),
        ("/docs/static/swagger-ui.css", "public, max-age=86400", "script-src 'self'"),
    ],
)
def test_every_answer_carries_the_security_headers_once(
    client: httpx.Client, path: str, cache_control: str, csp: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    for name in ("x-content-type-options", "referrer-policy", "x-frame-options", "cache-control",
                 "content-security-policy", "x-request-id"):  # fmt: skip
        assert len(answer.headers.get_list(name)) == 1, name
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == cache_control
    assert csp in answer.headers["content-security-policy"]


def test_a_header_the_answer_sets_itself_is_replaced_not_repeated() -> None:
    from app.web.middleware import API_HEADERS, _add_headers

    message = {"type": "http.response.start", "headers": [(b"cache-control", b"max-age=60"), (b"etag", b"x")]}
    _add_headers(message, API_HEADERS)
    names = [name for name, _ in message["headers"]]
    assert names.count(b"cache-control") == 1
    assert (b"cache-control", b"no-store") in message["headers"]
    assert (b"etag", b"x") in message["headers"]

from __future__ import annotations

import httpx


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["geodata"]["cog"] == "COG 2026"


def test_openapi_document_is_the_repository_file(client: httpx.Client) -> None:
    from tests.live_server import ROOT

    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.content == (ROOT / "openapi.yaml").read_bytes()


def test_security_headers_on_api_answers(client: httpx.Client) -> None:
    for response in (client.get("/v1/information-message"), client.get("/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_request_id_is_echoed_or_made(client: httpx.Client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert len(client.get("/healthz", headers={"X-Request-ID": "bad id\t!"}).headers["x-request-id"]) == 32


def test_metrics_count_requests_per_route_and_status(client: httpx.Client) -> None:
    client.get("/v1/policies")
    text = client.get("/metrics").text
    assert 'territorialite_requests_total{method="GET",route="/v1/policies",status="200"}' in text
    assert "territorialite_request_duration_seconds_bucket" in text


def test_policies_are_listed_with_versions(client: httpx.Client) -> None:
    policies = {p["name"]: p for p in client.get("/v1/policies").json()["policies"]}
    assert policies["departement"]["version"] == "1"
    assert policies["departement"]["territorial_tiers"] == ["same_departement"]
    assert policies["radius"]["tiers"][0] == "within_radius"

"""GET /: what the service is and where to read more, instead of a bare 404."""

from __future__ import annotations

import httpx

from app import __version__


def test_the_root_answers_a_small_index_whose_links_work(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    index = response.json()
    assert index == {
        "name": "territorialite",
        "version": __version__,
        "links": {"docs": "/docs", "openapi": "/openapi.yaml", "health": "/healthz"},
    }
    for link in index["links"].values():
        assert client.get(link).status_code == 200, link

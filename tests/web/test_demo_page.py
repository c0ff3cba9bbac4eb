"""The reference booking page is served from the service itself, under the sandbox's strict CSP.
(It is driven in Chromium by tests/sandbox/test_demo_browser.py.)"""

from __future__ import annotations

import re

import httpx
import pytest

from app.web.middleware import SANDBOX_CSP


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/demo", "text/html"), ("/demo/demo.js", "text/javascript"), ("/demo/demo.css", "text/css")],
)
def test_the_page_and_its_assets_are_served_under_the_strict_csp(
    client: httpx.Client, path: str, media_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["content-security-policy"] == SANDBOX_CSP
    assert "http://" not in response.text
    assert "https://" not in response.text  # no asset, font or script from elsewhere


def test_the_page_has_no_inline_script_or_handler(client: httpx.Client) -> None:
    page = client.get("/demo").text
    assert page.count("<script") == 1
    assert '<script src="/demo/demo.js" defer></script>' in page
    assert re.search(r"\son[a-z]+\s*=", page) is None  # no onclick=, onload=...
    assert "style=" not in page

"""The /docs sandbox in a real headless Chromium (Debian's package), against the live server.

No request may leave the machine: the browser resolves every host name but loopback to nothing,
sends everything else to a dead proxy, and the test records every request the page makes.
Screenshots land in artifacts/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.live_server import ROOT, LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
OFFLINE_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    # the network is cut: every name but loopback resolves to nothing, and every request not for
    # loopback (which Chromium never proxies) goes to a proxy where nothing listens
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--proxy-server=http://127.0.0.1:9",
]

if TYPE_CHECKING:
    from playwright.sync_api import Browser

playwright_api = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError(f"REQUIRE_BROWSER is set but {CHROMIUM} is missing: apt-get install chromium")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=OFFLINE_FLAGS)
        yield chromium
        chromium.close()


def test_try_it_out_ranks_physicians_offline(browser: Browser, server: LiveServer) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 2000})
    requested: list[str] = []
    failed: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto(server.base_url + "/docs", wait_until="networkidle")
    operation = page.locator("#operations-ranking-createRanking")
    operation.locator(".opblock-summary").click()
    try_it_out = operation.locator("button.try-out__btn", has_text="Try it out")
    if try_it_out.count():  # with tryItOutEnabled the editor is already open
        try_it_out.click()
    operation.locator("button.execute").click()

    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=15_000)
    body = operation.locator(".live-responses-table .highlight-code").first
    body.wait_for(timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sandbox.png"), full_page=False)
    operation.locator(".live-responses-table").first.screenshot(path=str(ARTIFACTS / "sandbox-response.png"))

    assert status.inner_text().strip() == "200"
    assert '"same_departement"' in body.inner_text()
    assert '"ranking"' in body.inner_text()
    hosts = {urlsplit(url).netloc for url in requested if not url.startswith("data:")}
    assert hosts == {urlsplit(server.base_url).netloc}, requested
    assert failed == []
    assert any(url.endswith("/openapi.yaml") for url in requested)
    page.close()


def test_sandbox_page_loads_completely_with_its_own_assets(browser: Browser, server: LiveServer) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(server.base_url + "/docs", wait_until="networkidle")
    page.locator(".opblock").first.wait_for(timeout=15_000)
    titles = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/v1/rankings", "/v1/scenario-evaluations", "/v1/information-message"} <= {t.strip() for t in titles}
    assert errors == []
    page.close()


def test_the_browser_has_no_route_beyond_loopback(browser: Browser) -> None:
    page = browser.new_page()
    with pytest.raises(playwright_api.Error, match=r"ERR_PROXY_CONNECTION_FAILED|ERR_NAME_NOT_RESOLVED"):
        page.goto("https://cdn.example.invalid/swagger-ui.css", timeout=10_000)
    page.close()

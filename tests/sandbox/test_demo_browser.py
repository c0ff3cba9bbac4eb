"""The reference booking page (/demo) in Debian's Chromium, against the live server, offline, driven
with the keyboard only: type part of a name, choose with the arrows and Enter, see the territorial
ranking and the verdict; decline, and see the message stay. Screenshots land in artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.live_server import LiveServer
from tests.sandbox.test_sandbox_browser import ARTIFACTS, playwright_api
from tests.sandbox.test_sandbox_browser import browser as browser  # the module's Chromium fixture

pytestmark = pytest.mark.browser
expect = playwright_api.expect
LOCATION_LABEL = "Votre commune ou votre code postal"


class Watched:
    """A page whose requests, failed requests and console errors are recorded."""

    def __init__(self, page: Any, server: LiveServer) -> None:
        self.page, self.server = page, server
        self.requested: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("requestfailed", lambda request: self.failed.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)

    def assert_clean_and_offline(self) -> None:
        hosts = {urlsplit(url).netloc for url in self.requested if not url.startswith("data:")}
        assert hosts == {urlsplit(self.server.base_url).netloc}, self.requested
        assert self.failed == []
        assert self.errors == []


@pytest.fixture
def watched(browser: Any, server: LiveServer) -> Iterator[Watched]:
    page = browser.new_page(viewport={"width": 900, "height": 1100})
    yield Watched(page, server)
    page.close()


def open_demo(watched: Watched) -> Any:
    page = watched.page
    response = page.goto(watched.server.base_url + "/demo", wait_until="networkidle")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator("#message[data-state=shown]").wait_for(timeout=15_000)
    return page


def test_keyboard_only_booking_ranks_territorial_first_and_is_compliant(watched: Watched, client: httpx.Client) -> None:
    page = open_demo(watched)
    assert page.locator("#message").inner_text() == client.get("/v1/information-message").json()["text"]

    page.keyboard.press("Tab")
    combobox = page.get_by_role("combobox", name=LOCATION_LABEL)
    assert combobox.evaluate("element => element === document.activeElement")
    page.keyboard.type("st paul les dur", delay=30)
    options = page.get_by_role("listbox", name="Communes proposées").get_by_role("option")
    # the list follows the typing: wait for the answer to the whole text, not to a part of it
    expect(options.first).to_contain_text("Saint-Paul-lès-Durance (13)", timeout=15_000)
    expect(options).to_have_count(1)
    assert combobox.get_attribute("aria-expanded") == "true"
    page.locator("#commune-status").filter(has_text="proposée").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-location.png"))

    page.keyboard.press("ArrowDown")
    assert combobox.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    page.locator("#verdict[data-verdict]").wait_for(timeout=15_000)
    assert combobox.get_attribute("aria-expanded") == "false"
    assert "13099" in page.locator("#chosen").inner_text()

    shown = page.locator("#physicians > li")
    ids = shown.evaluate_all("items => items.map(item => item.dataset.id)")
    tiers = shown.evaluate_all("items => items.map(item => item.dataset.tier)")
    assert ids[0] == "dre-alice-exemple"  # the fictional physician of the patient's own commune
    assert tiers[0] == "same_departement"
    assert "same_departement" not in tiers[tiers.index("outside_territory") :]
    assert page.locator("#message").is_visible()

    scenario = page.locator("#scenario").text_content()
    sent = [p["id"] for p in json.loads(scenario)["proposals"]["with_appointment"]]
    assert sent == ids  # the verdict is on exactly the order shown
    assert page.locator("#verdict").get_attribute("data-verdict") == "compliant"
    checks = page.locator("#checks").inner_text()
    assert "FAQ-TLC-7" in checks
    assert "FAQ-TLC-3" in checks
    page.screenshot(path=str(ARTIFACTS / "demo-ranked.png"), full_page=True)
    watched.assert_clean_and_offline()


def test_declining_keeps_the_message_and_territoriality_does_not_apply(watched: Watched) -> None:
    page = open_demo(watched)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    decline = page.get_by_role("button", name="Je préfère ne pas indiquer ma localisation")
    assert decline.evaluate("element => element === document.activeElement")
    page.keyboard.press("Enter")
    page.locator("#verdict[data-verdict]").wait_for(timeout=15_000)

    assert page.locator("#message").is_visible()
    assert page.locator("#message").inner_text().startswith("Votre localisation vous est demandée")
    assert "le principe de territorialité ne s’applique pas" in page.locator("#territoriality").inner_text()
    tiers = page.locator("#physicians > li").evaluate_all("items => items.map(item => item.dataset.tier)")
    assert set(tiers) == {"not_applicable"}
    assert page.locator("#verdict").get_attribute("data-verdict") == "compliant"
    assert "FAQ-TLC-3" in page.locator("#checks").inner_text()
    page.screenshot(path=str(ARTIFACTS / "demo-declined.png"), full_page=True)
    watched.assert_clean_and_offline()


def test_homonyms_show_their_departement_and_escape_closes_then_clears(watched: Watched) -> None:
    page = open_demo(watched)
    page.keyboard.press("Tab")
    page.keyboard.type("saint deni", delay=30)
    options = page.get_by_role("option")
    expect(options.nth(1)).to_contain_text("Saint-Denis (93)", timeout=15_000)
    labels = options.all_inner_texts()
    assert labels[0].startswith("Saint-Denis (974) · La Réunion")
    assert labels[1].startswith("Saint-Denis (93) · Seine-Saint-Denis")
    combobox = page.get_by_role("combobox", name=LOCATION_LABEL)
    page.keyboard.press("ArrowUp")  # wraps to the last option
    assert combobox.get_attribute("aria-activedescendant") == options.last.get_attribute("id")
    page.keyboard.press("ArrowDown")  # and back to the first
    assert combobox.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-homonyms.png"))
    page.keyboard.press("Escape")
    assert combobox.get_attribute("aria-expanded") == "false"
    assert combobox.input_value() == "saint deni"
    page.keyboard.press("Escape")
    assert combobox.input_value() == ""
    page.keyboard.type("annecy le", delay=30)
    page.get_by_role("option").filter(has_text="ancien nom : Annecy-le-Vieux").wait_for(timeout=15_000)
    watched.assert_clean_and_offline()


def test_on_a_keyed_deployment_the_page_says_it_cannot_call_the_api(browser: Any) -> None:
    keyed = LiveServer(env={"TERRITORIALITE_API_KEYS": "demo-test-key"}).start()
    try:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(keyed.base_url + "/demo")
        notice = page.get_by_role("alert")
        notice.wait_for(timeout=15_000)
        assert "exige une clé d’API" in notice.inner_text()
        assert page.get_by_role("combobox", name=LOCATION_LABEL).is_disabled()
        assert errors == []
        page.close()
    finally:
        keyed.stop()

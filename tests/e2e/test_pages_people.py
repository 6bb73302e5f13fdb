"""People's pages in Debian's Chromium against the four running services: a person asks through the request
form with the keyboard (no key of their own), sees the dry run and a field error, follows the request to its
position, opens the signed link from the real notice with no key, and withdraws it; a requester tool lists its
requests with its key. axe-core finds no WCAG A/AA violation on any page in any state."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.builders import POLICY, okr_set
from tests.e2e.accessibility import assert_accessible
from tests.e2e.page_errors import PageErrors
from tests.e2e.stack import ServiceProcess
from tests.infra import ROOT
from tests.receivers import MailSink
from tests.support import API_KEYS, AUTH, CRM_KEY, auth, eventually, request_body

pytestmark = pytest.mark.e2e

SHOTS = ROOT / "docs" / "pages"
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PUBLIC_FORM_KEY = "e2e-public-form-key-0123456789"
PERSON = {"name": "Dana Whitfield", "email": "dana.whitfield@example.com", "team": "Enterprise Sales"}
TITLE = "Onboarding webinar series for new sales accounts"
DESCRIPTION = "Monthly onboarding webinars and training for new accounts, to reduce churn in their first months."


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return "e2e-pages-people"




@pytest.fixture(scope="module")
def stack_settings(stack_settings: dict[str, str], sink: MailSink) -> dict[str, str]:
    keys = {**API_KEYS, PUBLIC_FORM_KEY: {"tool": "request-form", "role": "requester_tool",
                                          "lanes": ["customer", "sales"], "submit_only": True}}
    return {**stack_settings, "API_KEYS": json.dumps(keys), "FORM_KEY": PUBLIC_FORM_KEY,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port)}






async def prepared(services: dict[str, ServiceProcess]) -> str:
    """Objectives published for this quarter, the policy set, and the sales lane's share of this cycle
    mostly taken by the CRM's request (so the person's sales request waits in the backlog). Its id."""
    today = date.today()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        assert (await http.put(f"{services['classifier'].url}/v1/okrs/{quarter}", json=okr_set(5))).status_code == 200
        assert (await http.put(f"{services['capacity'].url}/v1/policy", json=POLICY)).status_code == 200
        taken = await http.post(f"{services['intake'].url}/v1/requests", json=request_body(size="M"),
                                headers={**auth(CRM_KEY), "Idempotency-Key": "pages-crm-1"})
        assert taken.status_code == 202, taken.text
        return str(taken.json()["id"])


async def tab_to(page: Page, element_id: str, limit: int = 40) -> None:
    """Moves the focus with the Tab key alone until it reaches the element."""
    for _ in range(limit):
        if await page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


async def fits_a_laptop(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]


async def test_a_person_asks_through_the_form_follows_the_request_and_withdraws_it(
        services: dict[str, ServiceProcess], browser: Browser, sink: MailSink, tmp_path: Path,
        page_errors: PageErrors) -> None:
    # The form is sent once with a bad email address on purpose.
    page_errors.expect("/v1/requests: Failed to load resource: the server responded with a status of 422")
    crm_request = await prepared(services)
    intake = services["intake"].url
    shots = SHOTS if os.environ.get("WRITE_SCREENSHOTS") == "1" else tmp_path  # the README's pictures: on demand
    shots.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    await page.goto(f"{intake}/pages/request")
    await expect(page.locator("#content")).to_be_visible()
    await expect(page.locator("#key-form")).to_be_hidden()  # the form's own key: the person needs none
    await expect(page.locator("#okr_claim option[value=O2]")).to_have_count(1)
    await assert_accessible(page, "the empty request form")

    # Fields per kind of work.
    await page.select_option("#work_type", "creative")
    await expect(page.locator("#customer_outcome")).to_be_hidden()
    await expect(page.locator("#due_date")).to_be_hidden()
    await page.select_option("#work_type", "event_support")
    await expect(page.locator("#customer_outcome")).to_be_visible()
    await expect(page.locator("#due-label")).to_have_text("Date of the event")
    await page.select_option("#work_type", "deck")
    await expect(page.locator("#customer_outcome")).to_be_hidden()
    await expect(page.locator("#due_date")).to_be_visible()

    # The keyboard alone: from the top of the page through the fields to the send button.
    await page.keyboard.press("Tab")
    await tab_to(page, "name")
    await page.keyboard.type(PERSON["name"])
    await page.keyboard.press("Tab")
    await page.keyboard.type("dana.whitfield-at-example.com")  # a bad address first
    await page.keyboard.press("Tab")
    await page.keyboard.type(PERSON["team"])
    await page.keyboard.press("Tab")
    await page.keyboard.type("Sales")
    await tab_to(page, "title")
    await page.keyboard.type(TITLE)
    await page.keyboard.press("Tab")
    await page.keyboard.type(DESCRIPTION)
    await expect(page.locator("#dry-run")).to_contain_text("ladders up to O2", timeout=15_000)
    await tab_to(page, "size")
    await page.keyboard.type("M")
    await tab_to(page, "okr_claim")
    await page.keyboard.type("O2")
    await expect(page.locator("#okr_claim")).to_have_value("O2")
    await expect(page.locator("#dry-run")).to_contain_text("bears out your choice of O2", timeout=15_000)
    await tab_to(page, "submit")
    await page.keyboard.press("Enter")

    email_error = page.locator("[data-error-for='body.requester.email']")
    await expect(email_error).to_have_text("Enter an email address, like name@example.com.")
    await expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    assert await page.evaluate("document.activeElement.id") == "email"  # the first bad field has the focus
    await assert_accessible(page, "the request form showing a field error")

    await page.keyboard.press("Control+A")
    await page.keyboard.type(PERSON["email"])
    await expect(email_error).to_be_hidden()  # cleared as soon as the field changes
    await tab_to(page, "submit")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(shots / "request.png"))
    await page.keyboard.press("Enter")
    await expect(page.locator("#done")).to_be_visible(timeout=15_000)
    await expect(email_error).to_be_hidden()
    await assert_accessible(page, "the request form once the request was received")
    await fits_a_laptop(page)

    # Following it: the link in the answer opens the request's page with no key; it waits in the backlog.
    await page.locator("#follow").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#request-title")).to_have_text(TITLE)
    await expect(page.locator("#status")).to_have_text("Waiting in the backlog", timeout=30_000)
    await expect(page.locator("#position")).to_have_text(re.compile(r"^Number \d+$"))
    start = re.compile(r"week of .*\d{4}-W\d{2}|\d{4}-W\d{2}, the week of", re.IGNORECASE)
    await expect(page.locator("#expected-start")).to_have_text(start)
    await expect(page.locator("#objective")).to_have_text("O2")
    await assert_accessible(page, "my request opened from the form's link")
    await fits_a_laptop(page)
    await page.screenshot(path=str(shots / "mine.png"))
    request_id = page.url.split("request=")[1].split("&")[0]

    # The real notice carries its own signed link; a browser with no key at all opens it.
    notice_link = await link_in_notice(sink, intake, PERSON["email"], request_id)
    stranger = await browser.new_context(viewport=LAPTOP)
    opened = await stranger.new_page()
    await opened.goto(notice_link)
    await expect(opened.locator("#request-title")).to_have_text(TITLE)
    await expect(opened.locator("#status")).to_have_text("Waiting in the backlog")
    await expect(opened.locator("#who")).to_have_text("Opened from your link")
    await expect(opened.locator("#back")).to_be_hidden()

    # Withdrawn from the page, with the keyboard.
    await opened.locator("#withdraw-reason").focus()
    await opened.keyboard.type("We found a slot in the sales kick-off instead.")
    await tab_to(opened, "withdraw")
    await opened.keyboard.press("Enter")
    await expect(opened.locator("#status")).to_have_text("Withdrawn", timeout=20_000)
    await expect(opened.locator("#message")).to_contain_text("Withdrawn")
    await expect(opened.locator("#withdraw-box")).to_be_hidden()
    await expect(opened.locator("#timeline")).to_contain_text("Withdrawn.")
    await assert_accessible(opened, "my request once withdrawn")
    await stranger.close()

    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        found = (await http.get(f"{intake}/v1/requests/{request_id}")).json()
    assert found["status"] == "withdrawn"
    assert found["request"]["requester"]["email"] == PERSON["email"]
    assert found["request"]["okr_claim"] == "O2" and found["request"]["size"] == "M"
    assert found["submitted_by"] == "request-form"

    # A requester tool's key lists what the tool posted, and opens one: its first request, behind fifty newer
    # ones, is on the list's second page (the page reads every page).
    async with httpx.AsyncClient(timeout=10) as http:
        for n in range(50):
            newer = await http.post(f"{intake}/v1/requests", json=request_body(title=f"Newer page {n}", size="XS"),
                                    headers={**auth(CRM_KEY), "Idempotency-Key": f"pages-crm-newer-{n}"})
            assert newer.status_code == 202, newer.text
    listing = await context.new_page()
    await listing.goto(f"{intake}/pages/mine")
    await expect(listing.locator("#key-form")).to_be_visible()
    await assert_accessible(listing, "my requests asking for a key")
    await listing.fill("#key-input", CRM_KEY)
    await listing.keyboard.press("Enter")
    row = listing.locator("#rows a", has_text=request_body()["title"])
    await expect(row).to_have_count(1)
    await expect(listing.locator("#rows tr")).to_have_count(51)
    await expect(listing.locator("#rows")).not_to_contain_text(TITLE)  # the form's request is not the CRM's
    await assert_accessible(listing, "my requests listed for a requester tool's key")
    await fits_a_laptop(listing)
    await listing.screenshot(path=str(shots / "mine-list.png"))
    await row.click()
    await expect(listing.locator("#request-title")).to_have_text(request_body()["title"])
    assert crm_request in listing.url
    await context.close()
    print(f"\nscreenshots: {shots}")


async def link_in_notice(sink: MailSink, intake: str, address: str, request_id: str) -> str:
    """The follow link of the first notice the person got about their request (an SMTP server's copy)."""
    def text(mail: Any) -> str:
        return str(mail.message.get_body(("plain",)).get_content())

    async def arrived() -> list[Any]:
        return [m for m in sink.to(address) if request_id in text(m)]

    [mail, *_] = await eventually(arrived, timeout=60)
    found = re.search(r"Follow your request \(no key needed\): (\S+)", text(mail))
    assert found is not None, text(mail)
    assert found.group(1).startswith(f"{intake}/pages/mine#request={request_id}&token=")
    return found.group(1)

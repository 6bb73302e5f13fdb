"""The ops pages in Debian's Chromium against the four running services, driven with the keyboard.

A heat-shield manager pauses committed work for an urgent request on the trade-offs page (the board and
the paused work's requester follow); ops previews then publishes an OKR set, and previews then saves a
policy. axe-core checks each page in each state for WCAG 2 A/AA. With ``WRITE_SCREENSHOTS=1`` the
laptop-sized screenshots are written to ``docs/pages/`` (else to a temporary folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, ViewportSize, expect

from tests.builders import okr_set
from tests.e2e.accessibility import assert_accessible
from tests.e2e.page_errors import PageErrors
from tests.e2e.stack import ServiceProcess
from tests.receivers import MailSink
from tests.support import API_KEY, AUTH, HEAT_SHIELD_KEY, auth, eventually, request_body

pytestmark = pytest.mark.e2e

QUARTER = "2026-Q4"
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "pages"
POLICY = {"capacity_points": 20, "customer_reserve": 0.5,
          "lane_caps": {"sales": 0.2, "business_unit": 0.2, "executive": 0.15, "legal": 0.1},
          "wip_limits": {"customer": 5, "sales": 5, "business_unit": 5, "executive": 5, "legal": 5}, "wip_total": 20}
REPORT_OWNER = {"id": "u-7", "name": "Priya Raman", "email": "priya.raman@example.com",
                "team": "Executive Office", "type": "executive"}
NOTE = "The board meets on Friday; the quarterly report can wait a week."


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return "e2e-pages-ops"




@pytest.fixture(scope="module")
def stack_settings(stack_settings: dict[str, str], sink: MailSink) -> dict[str, str]:
    return {**stack_settings, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "PINNED_QUARTER": QUARTER}






@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("WRITE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path_factory.mktemp("pages")


async def tab_to(page: Page, selector: str, presses: int = 80) -> None:
    """Presses Tab until the focused element matches ``selector``: every control is reached by keyboard."""
    for _ in range(presses):
        if await page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reached with the Tab key")


async def signed_in(browser: Browser, url: str, key: str) -> Page:
    """The page with the key typed into its key form and submitted with Enter."""
    page = await browser.new_page(viewport=LAPTOP)
    await page.goto(url)
    await page.wait_for_selector("#key-form:not([hidden])")
    await assert_accessible(page, f"{url} (key form)")
    await tab_to(page, "#key-input")
    await page.keyboard.type(key)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#content:not([hidden])")
    return page


async def fits_a_laptop(page: Page) -> None:
    """No sideways scrolling at 1366 px."""
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def refused_once(page: Page, url: str, button: str) -> None:
    """Press ``button`` while the service answers its PUT to ``url`` with a 503 once: the reason is shown, and
    the button is there to press again."""
    refused: list[str] = []

    async def unavailable_once(route: Route) -> None:
        if route.request.method != "PUT" or refused:
            await route.continue_()
            return
        refused.append(route.request.url)
        await route.fulfill(status=503, content_type="application/problem+json", json={
            "type": "about:blank", "title": "Service Unavailable", "status": 503,
            "detail": "The store cannot be reached; try again shortly."})

    await page.route(url, unavailable_once)
    await tab_to(page, button)
    await page.keyboard.press("Enter")
    await expect(page.locator("#message")).to_contain_text("cannot be reached", timeout=15_000)
    await expect(page.locator(button)).to_be_enabled()


async def submit(http: httpx.AsyncClient, intake: str, key: str, **body: Any) -> str:
    answer = await http.post(f"{intake}/v1/requests", json=request_body(**body),
                             headers={**AUTH, "Idempotency-Key": key})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


async def asked_to_trade(http: httpx.AsyncClient, capacity: str, intake: str, key: str,
                         **body: Any) -> tuple[str, dict[str, Any]]:
    """An urgent small request that does not fit, and the open trade-off it brings."""
    urgent = await submit(http, intake, key, size="S", expedite=True, **body)

    async def asked() -> dict[str, Any] | None:
        items = (await http.get(f"{capacity}/v1/tradeoffs")).json()["items"]
        return next((t for t in items if t["request_id"] == urgent and t["status"] == "open"), None)

    return urgent, await eventually(asked, timeout=60)


async def test_a_heat_shield_pauses_committed_work_and_the_board_and_its_requester_follow(
        services: dict[str, ServiceProcess], browser: Browser, sink: MailSink, shots: Path) -> None:
    capacity, intake = services["capacity"].url, services["intake"].url
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        assert (await http.put(f"{capacity}/v1/policy", json=POLICY)).status_code == 200
        report = await submit(http, intake, "pages-report", title="Quarterly report for the executive team",
                              description="The quarterly marketing report.", work_type="deck",
                              requester=REPORT_OWNER, size="M")

        async def committed() -> bool:
            board = (await http.get(f"{capacity}/v1/board")).json()
            return report in {c["request_id"] for c in board["columns"]["committed"]}

        await eventually(committed, timeout=60)
        urgent, tradeoff = await asked_to_trade(
            http, capacity, intake, "pages-slides", title="Board slides for Friday",
            description="Slides for the board meeting.", work_type="deck",
            requester={**REPORT_OWNER, "id": "u-8", "name": "Maria Okafor", "email": "maria.okafor@example.com"},
            justification="The board moved its meeting to Friday.")

    # The trade-off email's link: the page opens on that trade-off, focused.
    page = await signed_in(browser, f"{capacity}/pages/tradeoffs?id={tradeoff['tradeoff_id']}", HEAT_SHIELD_KEY)
    heading = page.locator(".tradeoff.focused h3")
    await expect(heading).to_be_focused(timeout=15_000)
    card = page.locator(".tradeoff.focused")
    await expect(card).to_contain_text("The board moved its meeting to Friday.")
    await expect(card.locator("table")).to_contain_text("Quarterly report for the executive team")
    await assert_accessible(page, "trade-offs (open)")
    okrs_link = await page.locator("header nav a", has_text="OKRs").get_attribute("href")
    assert okrs_link is not None and okrs_link.startswith("http") and okrs_link.endswith("/pages/okrs")
    await fits_a_laptop(page)
    await page.screenshot(path=str(shots / "tradeoffs.png"))

    await tab_to(page, f"input[value='pause:{report}']")
    await page.keyboard.press("Space")
    await tab_to(page, ".tradeoff.focused textarea")
    await page.keyboard.type(NOTE)
    await tab_to(page, ".tradeoff.focused button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.locator("#message")).to_contain_text("Decision recorded", timeout=15_000)
    decided = page.locator("#decided tbody tr", has_text="Board slides for Friday")
    await expect(decided).to_contain_text("Paused “Quarterly report for the executive team”")
    await expect(decided).to_contain_text(NOTE)
    await expect(decided).to_contain_text("heat-shield")
    await assert_accessible(page, "trade-offs (decided)")
    await page.close()

    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        board = (await http.get(f"{capacity}/v1/board")).json()
    assert report in {c["request_id"] for c in board["columns"]["paused"]}
    assert urgent in {c["request_id"] for c in board["columns"]["committed"]}

    async def told() -> list[Any] | None:
        mail = [m for m in sink.to(REPORT_OWNER["email"]) if "is paused" in m.subject]
        return mail or None

    [notice] = await eventually(told, timeout=60)
    assert NOTE in " ".join(notice.text.split())


async def test_a_decision_refused_because_another_was_recorded_first_shows_the_trade_off_as_it_is_now(
        services: dict[str, ServiceProcess], browser: Browser, page_errors: PageErrors) -> None:
    page_errors.expect("/decision: Failed to load resource: the server responded with a status of 409")
    capacity, intake = services["capacity"].url, services["intake"].url
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        _, tradeoff = await asked_to_trade(
            http, capacity, intake, "pages-press", title="Press statement for the analyst call",
            description="A statement for the analyst call.", work_type="other",
            requester={**REPORT_OWNER, "id": "u-9", "name": "Tom Reyes", "email": "tom.reyes@example.com"},
            justification="The analyst call moved to tomorrow.")
    page = await signed_in(browser, f"{capacity}/pages/tradeoffs?id={tradeoff['tradeoff_id']}", HEAT_SHIELD_KEY)
    card = page.locator(".tradeoff.focused")
    await expect(card).to_contain_text("The analyst call moved to tomorrow.", timeout=15_000)

    async def another_heat_shield_defers_it_first(route: Route) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(f"{capacity}/v1/tradeoffs/{tradeoff['tradeoff_id']}/decision",
                                     headers=auth(HEAT_SHIELD_KEY), json={"defer": True})
            assert answer.status_code == 200, answer.text
        await route.continue_()

    await page.route("**/v1/tradeoffs/*/decision", another_heat_shield_defers_it_first)
    await card.locator("input[value^='pause:']").first.check()
    await card.locator("button[type=submit]").click()
    await expect(page.locator("#message")).to_contain_text("already deferred", timeout=15_000)
    # The page reloaded: the trade-off is no longer offered, and the decision that stands is listed.
    await expect(page.locator(".tradeoff", has_text="Press statement for the analyst call")).to_have_count(0)
    decided = page.locator("#decided tbody tr", has_text="Press statement for the analyst call")
    await expect(decided).to_contain_text("Deferred to the backlog")
    await page.close()


def without_onboarding() -> dict[str, Any]:
    """The next version: the onboarding objective (O2) is dropped; O3 and O4 move up a rank."""
    body = okr_set(4, quarter=QUARTER)
    body["objectives"] = [o for o in body["objectives"] if o["id"] != "O2"]
    for rank, objective in enumerate(body["objectives"], start=1):
        objective["rank"] = rank
    return body


async def test_ops_previews_then_publishes_an_okr_set_from_a_file(
        services: dict[str, ServiceProcess], browser: Browser, shots: Path, tmp_path: Path,
        page_errors: PageErrors) -> None:
    page_errors.expect("/v1/okrs/preview: Failed to load resource: the server responded with a status of 422")
    page_errors.expect(f"/v1/okrs/{QUARTER}: Failed to load resource: the server responded with a status of 503")
    classifier, intake = services["classifier"].url, services["intake"].url
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        assert (await http.put(f"{classifier}/v1/okrs/{QUARTER}", json=okr_set(3))).status_code == 200
        await submit(http, intake, "pages-webinar", title="Customer onboarding webinar series",
                     description="Monthly webinars that help new customers through onboarding and training.",
                     work_type="event_support", size="S",
                     requester={**REPORT_OWNER, "type": "customer", "team": "Customer Success"})

        async def expected() -> dict[str, Any] | None:
            found: dict[str, Any] = (await http.post(f"{classifier}/v1/okrs/preview", json=without_onboarding())).json()
            return found if found["would_become_unaligned"] >= 1 else None

        preview = await eventually(expected, timeout=60)

    page = await signed_in(browser, f"{classifier}/pages/okrs", API_KEY)
    await expect(page.locator("#current-title")).to_contain_text("version 1")
    await assert_accessible(page, "OKRs (current set)")
    upload = tmp_path / "okrs.json"
    body = without_onboarding()
    body["objectives"][0]["title"] = ""  # a mistake in the file: shown beside its field
    upload.write_text(json.dumps(body), encoding="utf-8")
    await page.set_input_files("#okr-file", str(upload))
    await expect(page.locator("#message")).to_contain_text("Loaded okrs.json")
    await tab_to(page, "#preview")
    await page.keyboard.press("Enter")
    title = page.locator("#f-o0-title")
    await expect(title).to_have_attribute("aria-invalid", "true", timeout=15_000)
    await expect(title).to_be_focused()
    await expect(page.locator("[data-error-for='body.objectives.0.title']")).to_be_visible()
    await assert_accessible(page, "OKRs (a field in error)")

    await page.keyboard.type(without_onboarding()["objectives"][0]["title"])
    await tab_to(page, "#preview")
    await page.keyboard.press("Enter")
    box = page.locator("#preview-box")
    await expect(box).to_be_visible(timeout=15_000)
    await expect(page.locator("#preview-title")).to_be_focused()
    figures = {name: await page.locator(".figures div", has_text=name).locator(".figure").inner_text()
               for name in ("Open requests", "Would change objective", "Would become unaligned")}
    assert figures == {"Open requests": str(preview["open_requests"]),
                       "Would change objective": str(preview["would_change_objective"]),
                       "Would become unaligned": str(preview["would_become_unaligned"])}
    await expect(box.locator("tbody")).to_contain_text("Customer onboarding webinar series")
    await assert_accessible(page, "OKRs (preview)")
    await page.screenshot(path=str(shots / "okrs.png"))

    # The first publish meets a moment's outage: its reason is shown and Publish may be pressed again.
    await refused_once(page, f"**/v1/okrs/{QUARTER}", "#publish")
    await tab_to(page, "#publish")
    await page.keyboard.press("Enter")
    await expect(page.locator("#message")).to_contain_text(f"Version 2 of {QUARTER} is published", timeout=15_000)
    await expect(page.locator("#current-title")).to_contain_text("version 2")
    await expect(page.locator("#versions tbody tr").first).to_contain_text("v2 (current)")
    await assert_accessible(page, "OKRs (published)")
    await fits_a_laptop(page)
    await page.close()
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        current = (await http.get(f"{classifier}/v1/okrs/current")).json()
    assert current["version"] == 2 and [o["id"] for o in current["objectives"]] == ["O1", "O3", "O4"]


async def test_ops_previews_then_saves_a_policy_and_the_history_says_who(
        services: dict[str, ServiceProcess], browser: Browser, shots: Path, page_errors: PageErrors) -> None:
    page_errors.expect("/v1/policy/preview: Failed to load resource: the server responded with a status of 422")
    page_errors.expect("/v1/policy: Failed to load resource: the server responded with a status of 503")
    capacity, intake = services["capacity"].url, services["intake"].url
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        pages = [await submit(http, intake, f"pages-sales-{i}", title=f"Landing page for account {i}",
                              requester={**request_body()["requester"], "id": f"u-s{i}"}, size="M") for i in range(3)]

        async def waiting() -> bool:
            backlog = (await http.get(f"{capacity}/v1/backlog")).json()
            return len({b["request_id"] for b in backlog["items"]} & set(pages)) == 2

        await eventually(waiting, timeout=60)
        before = (await http.get(f"{capacity}/v1/policy")).json()

    page = await signed_in(browser, f"{capacity}/pages/policy", API_KEY)
    cap = page.locator("#f-lane_caps-sales")
    await expect(cap).to_have_value("0.2")
    await assert_accessible(page, "policy (current)")

    # A mistake first: an empty number is named beside its field.
    await tab_to(page, "#f-capacity_points")
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Backspace")
    await page.keyboard.press("Enter")
    points = page.locator("#f-capacity_points")
    await expect(points).to_have_attribute("aria-invalid", "true", timeout=15_000)
    await expect(page.locator("[data-error-for='body.capacity_points']")).to_be_visible()
    await assert_accessible(page, "policy (a field in error)")
    await page.keyboard.type("20")

    # A mistake in the values together (a cap is a share, at most 1): its reason is shown, not only "body".
    await tab_to(page, "#f-lane_caps-sales")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("1.5")
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-error-for='body']")).to_contain_text("between 0 and 1", timeout=15_000)

    await tab_to(page, "#f-lane_caps-sales")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("0.35")
    await page.keyboard.press("Enter")  # submits the form: the preview
    box = page.locator("#preview-box")
    await expect(box).to_be_visible(timeout=15_000)
    await expect(page.locator("[data-error-for='body']")).to_be_hidden()
    await expect(box).to_contain_text("lane_caps.sales")
    shares = box.locator("table", has_text="Shares of this cycle").locator("tbody tr")
    await expect(shares.first).to_contain_text("Customer")  # lanes in lane order, customer first
    await expect(box.locator("table", has_text="Cards that would move")).to_contain_text("into the cycle")
    await assert_accessible(page, "policy (preview)")
    await page.screenshot(path=str(shots / "policy.png"))
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        assert (await http.get(f"{capacity}/v1/policy")).json() == before  # the preview saved nothing

    # The first save meets a moment's outage: its reason is shown and Save may be pressed again.
    await refused_once(page, "**/v1/policy", "#save")
    await tab_to(page, "#save")
    await page.keyboard.press("Enter")
    await expect(page.locator("#message")).to_contain_text(f"Policy version {before['version'] + 1} is saved",
                                                           timeout=15_000)
    newest = page.locator("#versions tbody tr").first
    await expect(newest).to_contain_text(f"v{before['version'] + 1}")
    await expect(newest).to_contain_text("test-tool")
    await expect(newest).to_contain_text("lane_caps.sales: 0.2 → 0.35")
    await assert_accessible(page, "policy (saved)")
    await fits_a_laptop(page)
    await page.close()
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        assert (await http.get(f"{capacity}/v1/policy")).json()["lane_caps"]["sales"] == 0.35

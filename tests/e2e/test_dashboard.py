"""The dashboard in a real headless Chromium (Debian's package) against the four running services."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, Route, expect

from capacity.dashboard.charts import PALETTE
from tests.e2e.page_errors import PageErrors
from tests.e2e.stack import ServiceProcess
from tests.support import API_KEY, AUTH, CRM_KEY, auth, eventually, request_body

pytestmark = pytest.mark.e2e

LANES = {"customer": "blue", "sales": "orange", "business_unit": "green", "executive": "yellow"}
REQUESTS = [
    ("customer", "Customer onboarding webinar series", "Lena Fischer", "Customer Marketing", "L"),
    ("sales", "Landing page for Halvorsen Logistics", "Dave Morrison", "Enterprise Sales", "M"),
    ("business_unit", "Atlas 3.0 launch microsite", "Aisha Khan", "Atlas Product Team", "M"),
    ("executive", "Board slides for the Q4 review", "Maria Okafor", "Executive Office", "S"),
    ("sales", "Second landing page for one account", "Dave Morrison", "Enterprise Sales", "M"),
]


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return "e2e-dashboard"






async def opened(browser: Browser, services: dict[str, ServiceProcess], key: str) -> Page:
    """The dashboard page, its key entered once in the form, connected to the stream."""
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    await page.goto(f"{services['capacity'].url}/dashboard")
    await page.fill("#key-input", key)
    await page.click("#key-form button[type=submit]")
    await page.wait_for_selector("#live[data-state=live]", timeout=15_000)
    return page


def rgb(colour: str) -> tuple[int, int, int]:
    shade = PALETTE[colour]
    return int(shade[1:3], 16), int(shade[3:5], 16), int(shade[5:7], 16)


async def submit(http: httpx.AsyncClient, intake: str, lane: str, title: str, name: str, team: str,
                 size: str) -> str:
    requester = {"id": f"u-{abs(hash(name)) % 10_000}", "name": name, "email": "someone@example.com",
                 "team": team, "type": lane}
    answer = await http.post(f"{intake}/v1/requests", json=request_body(title=title, requester=requester, size=size),
                             headers={**AUTH, "Idempotency-Key": f"dashboard-{title}"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


async def test_cards_appear_live_in_lane_colours_and_a_move_changes_their_column(
        services: dict[str, ServiceProcess], browser: Browser, tmp_path: Path) -> None:
    started = time.perf_counter()
    page = await opened(browser, services, API_KEY)
    await page.evaluate("window.sameDocument = true")  # gone if anything reloads the page
    async with httpx.AsyncClient(timeout=10) as http:
        ids = {title: await submit(http, services["intake"].url, lane, title, name, team, size)
               for lane, title, name, team, size in REQUESTS}

    for lane, colour in LANES.items():
        card = page.locator(f"[data-column=committed] .card[data-lane={lane}]").first
        await card.wait_for(timeout=30_000)
        # Retried: a live update may re-render the card between finding it and reading its style.
        await expect(card).to_have_css("background-color", "rgb({}, {}, {})".format(*rgb(colour)))
        await expect(card.locator(".lane-tag")).to_have_text(lane.replace("_", " "), ignore_case=True)
    # Sales' share of the week holds one of the two landing pages: the other waits, "not right now".
    # Which one depends on which the capacity service decides first (they travel on different partitions).
    sales = [ids[title] for lane, title, *_ in REQUESTS if lane == "sales"]
    waiting = page.locator(" , ".join(f"[data-column=backlog] .card[data-request-id='{i}']" for i in sales))
    await waiting.first.wait_for(timeout=30_000)
    assert await waiting.count() == 1
    assert await page.evaluate("window.sameDocument") is True

    webinar = ids[REQUESTS[0][1]]
    await page.click(f"[data-column=committed] .card[data-request-id='{webinar}'] button[data-move=start]")
    await page.locator(f"[data-column=in_progress] .card[data-request-id='{webinar}']").wait_for(timeout=15_000)
    assert "Start" in await page.inner_text("#message")
    await page.wait_for_selector("#history-chart svg")

    shot = tmp_path / "dashboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"\ndashboard screenshot: {shot}  ({time.perf_counter() - started:.1f} s in Chromium)")
    counts = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24) or []
    seen = {colour: count for count, colour in counts}
    present = [lane for lane, colour in LANES.items() if seen.get(rgb(colour), 0) >= 500]
    assert len(present) >= 3, f"lane colours in the screenshot: {present}"
    await page.close()


async def test_a_requester_tools_key_sees_its_own_cards_read_only_and_only_counts_the_others(
        services: dict[str, ServiceProcess], browser: Browser) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        theirs = await submit(http, services["intake"].url, "customer", "Another tool's webinar", "Lena Fischer",
                              "Customer Marketing", "S")  # posted by the ops key's tool, so not the CRM's
        requester = {**request_body()["requester"], "name": "Crm Person", "email": "crm.person@example.com"}
        posted = await http.post(f"{services['intake'].url}/v1/requests", headers={
            **auth(CRM_KEY), "Idempotency-Key": "dashboard-crm-own"}, json=request_body(
                title="The CRM tool's own page", requester=requester, size="XS"))
        assert posted.status_code == 202, posted.text

        async def both_on_the_board() -> dict[str, Any] | None:
            board: dict[str, Any] = (await http.get(f"{services['capacity'].url}/v1/board", headers=AUTH)).json()
            on_board = {c["request_id"] for cards in board["columns"].values() for c in cards}
            return board if {theirs, posted.json()["id"]} <= on_board else None

        others = await eventually(both_on_the_board)
    page = await opened(browser, services, CRM_KEY)
    own = page.locator(f".card[data-request-id='{posted.json()['id']}']")
    await own.wait_for(timeout=30_000)
    assert "read only" in await page.inner_text("#who")
    assert await page.locator("button[data-move]").count() == 0
    text = await page.inner_text("#dashboard")
    titles = [c["title"] for cards in others["columns"].values() for c in cards
              if c["request_id"] != posted.json()["id"]]
    assert titles and not [t for t in titles if t in text], "another tool's card is shown"
    assert "of other tools (not shown)" in text
    await page.close()


async def test_a_refused_move_shows_the_reason(services: dict[str, ServiceProcess], browser: Browser,
                                               page_errors: PageErrors) -> None:
    page_errors.expect("/pause: Failed to load resource: the server responded with a status of 409")
    page = await opened(browser, services, API_KEY)
    card = page.locator("[data-column=committed] .card").first
    await card.wait_for(timeout=15_000)
    request_id = await card.get_attribute("data-request-id")

    async def someone_else_moves_it_first(route: Route) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(f"{services['capacity'].url}/v1/work/{request_id}/done", headers=AUTH)
            assert answer.status_code == 200
        await route.continue_()

    await page.route("**/v1/work/*/pause", someone_else_moves_it_first)
    await card.locator("button[data-move=pause]").click()
    await page.locator("#message", has_text="is done").wait_for(timeout=15_000)
    assert "only committed or started work can be paused" in await page.inner_text("#message")
    await page.close()


async def test_a_key_that_may_not_read_the_board_is_asked_for_again_with_the_reason_and_not_retried(
        services: dict[str, ServiceProcess], browser: Browser, page_errors: PageErrors) -> None:
    page_errors.expect("the server responded with a status of 403")
    async with httpx.AsyncClient(timeout=10) as http:  # a public form's key: it may only submit requests
        made = await http.post(f"{services['intake'].url}/v1/keys", headers=AUTH, json={
            "tool": "public-form", "role": "requester_tool", "lanes": ["customer"], "submit_only": True})
        assert made.status_code == 201, made.text

        async def known_to_capacity() -> bool:  # from the keys topic: refused (403), no longer unknown (401)
            me = await http.get(f"{services['capacity'].url}/v1/me", headers=auth(made.json()["key"]))
            return me.status_code == 403

        await eventually(known_to_capacity)
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/v1/dashboard/stream") else None)
    await page.goto(f"{services['capacity'].url}/dashboard")
    await page.fill("#key-input", made.json()["key"])
    await page.click("#key-form button[type=submit]")
    await expect(page.locator("#key-error")).to_contain_text("only submits requests", timeout=15_000)
    await expect(page.locator("#key-form")).to_be_visible()
    await expect(page.locator("#dashboard")).to_be_hidden()
    await asyncio.sleep(3.5)  # past the first two retries (1 s, then 2 s) a refused key would have had
    assert len(streams) == 1, streams
    assert await page.evaluate("localStorage.getItem('capacity-dashboard-key')") is None  # not kept for next time
    await page.close()


async def test_an_open_dashboard_does_not_hold_up_a_shutdown(services: dict[str, ServiceProcess]) -> None:
    capacity = services["capacity"]
    async with httpx.AsyncClient(timeout=10) as http, \
            http.stream("GET", f"{capacity.url}/v1/dashboard/stream", headers=AUTH) as stream:
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith("event: snapshot")
        await asyncio.to_thread(capacity.stop)  # SIGTERM, then SIGKILL if it has not stopped within 20 s
        rest = [line async for line in lines]  # the server ended the stream, so this loop ends
    # It stopped by itself: a stream it kept open would have held its shutdown until the SIGKILL.
    assert capacity.returncode is not None and capacity.returncode != -signal.SIGKILL, capacity.returncode
    assert not any(line.startswith("event:") for line in rest)  # nothing after the first snapshot
    capacity.start()

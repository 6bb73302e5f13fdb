"""The dashboard's flow panel and calibration table in a real headless Chromium against the running services."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.stack import ServiceProcess
from tests.e2e.test_dashboard import opened, submit
from tests.support import API_KEY, AUTH

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return "e2e-flow-dashboard"








def past_sales(count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    items = []
    for i in range(count):
        started = now - timedelta(days=3 + i * 2.5)
        items.append({"request_id": f"past-{i}", "lane": "sales", "points": 3,
                      "submitted_at": (started - timedelta(days=4)).isoformat(), "started_at": started.isoformat(),
                      "done_at": (started + timedelta(days=2 + i % 5)).isoformat()})
    return items


async def test_the_flow_panel_shows_each_lanes_flow_its_sle_a_cfd_and_the_calibration_table(
        services: dict[str, ServiceProcess], browser: Browser) -> None:
    capacity, intake = services["capacity"].url, services["intake"].url
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{capacity}/v1/flow/import", json={"items": past_sales(60)}, headers=AUTH)
        assert answer.status_code == 202, answer.text
        await submit(http, intake, "sales", "Landing page for Halvorsen Logistics", "Dave Morrison",
                     "Enterprise Sales", "M")
    page = await opened(browser, services, API_KEY)
    await expect(page.locator("#flow-lanes tbody tr").first).to_be_visible(timeout=15_000)
    sales = page.locator("#flow-lanes tbody tr", has_text="sales")
    await expect(sales).to_contain_text("·")  # cycle time p50 · p85 · p95
    await expect(page.locator("#flow-sle")).to_contain_text("85% of sales work finishes within")
    await expect(page.locator("#flow-cfd svg")).to_be_visible()
    await expect(page.locator("#calibration tbody tr", has_text="sales")).to_be_visible(timeout=30_000)
    await expect(page.locator("#calibration tbody tr", has_text="all lanes")).to_be_visible()
    await page.screenshot(path=str(Path(os.environ.get("FLOW_SCREENSHOT", "/tmp/flow-dashboard.png"))),
                          full_page=True)

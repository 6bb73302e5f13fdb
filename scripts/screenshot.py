"""Takes the README's picture of the dashboard from a running stack, in Debian's headless Chromium.

    make up && make demo && .venv/bin/python scripts/screenshot.py

Writes docs/dashboard.png (1920x1080, a projector's screen). ``--start-one`` first starts the
first committed customer card, so that the in-progress column is not empty.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent


def start_one(capacity: str, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    board = httpx.get(f"{capacity}/v1/board", headers=auth, timeout=10).json()
    for card in board["columns"]["committed"]:
        if card["lane"] == "customer":
            httpx.post(f"{capacity}/v1/work/{card['request_id']}/start", headers=auth, timeout=10).raise_for_status()
            print(f"started {card['title']!r}")
            return


async def shoot(url: str, key: str, out: Path, chromium: str, width: int, height: int) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            await page.goto(f"{url}/dashboard")
            await page.fill("#key-input", key)
            await page.click("#key-form button[type=submit]")
            await page.wait_for_selector("#live[data-state=live]", timeout=15_000)
            await page.wait_for_selector("#history-chart svg", timeout=15_000)
            await page.screenshot(path=str(out), full_page=True)
        finally:
            await browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8003", help="the capacity service")
    parser.add_argument("--key", default=None, help="API key (default: .run/dev-api-key from make up)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/dashboard.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--size", default="1920x1080", help="the browser window, WIDTHxHEIGHT")
    parser.add_argument("--start-one", action="store_true", help="start the first committed customer card first")
    args = parser.parse_args()
    key = args.key or (ROOT / ".run/dev-api-key").read_text().strip()
    board = httpx.get(f"{args.url}/v1/board", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    board.raise_for_status()
    if not any(board.json()["columns"].values()):
        print("The board is empty: run `make demo` first.", file=sys.stderr)
        return 1
    if args.start_one:
        start_one(args.url, key)
    width, height = (int(v) for v in args.size.split("x"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(args.url, key, args.out, args.chromium, width, height))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

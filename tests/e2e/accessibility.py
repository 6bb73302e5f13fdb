"""axe-core in the browser tests: every person's page must show no WCAG 2 level A or AA violation.

axe-core comes from npm (``package.json``; ``scripts/bootstrap.sh`` installs it into ``node_modules/``).
Its source is evaluated in the page through Playwright, which the pages' Content-Security-Policy does not
stop (an injected ``<script>`` tag would be refused, as it should be).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

__all__ = ["AXE", "accessibility_violations", "assert_accessible"]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


async def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of WCAG 2 A/AA on the page as it is now (each with its rule id and nodes)."""
    assert AXE.exists(), f"axe-core is needed at {AXE} (bash scripts/bootstrap.sh installs it with npm)"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = await page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS)
    return list(result["violations"])


async def assert_accessible(page: Page, what: str = "") -> None:
    """Fails with each violated rule, its impact and the first offending elements."""
    violations = await accessibility_violations(page)
    summary = [f"{v['id']} ({v.get('impact')}): {v['help']} at "
               + ", ".join(str(n.get("target")) for n in v["nodes"][:3]) for v in violations]
    assert not violations, f"axe-core found WCAG A/AA violations on {what or page.url}:\n" + "\n".join(summary)

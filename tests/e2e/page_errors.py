"""Errors the pages of the browser tests log: a page that works on screen but throws, or logs a failed
fetch, fails its test."""

from __future__ import annotations

from playwright.async_api import BrowserContext, ConsoleMessage, Page

__all__ = ["PageErrors"]


class PageErrors:
    """What the pages of a browser wrote to their consoles as errors, and the scripts' uncaught exceptions: a
    page that works on screen but throws, or logs a failed fetch, fails its test (``no_page_errors``).
    An answer a test provokes on purpose (a refused stranger's 403) is expected with ``expect``."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.expected: list[str] = []

    def expect(self, fragment: str) -> None:
        """Console errors containing ``fragment`` are part of the test (until it ends)."""
        self.expected.append(fragment)

    def watch(self, page: Page) -> Page:
        self._listen(page)
        return page

    def watch_context(self, context: BrowserContext) -> BrowserContext:
        context.on("page", self._listen)
        return context

    def _listen(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.seen.append(f"{page.url}: uncaught {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"{message.location.get('url', '')}: {message.text}")

    def unexpected(self) -> list[str]:
        found = [e for e in self.seen if not any(fragment in e for fragment in self.expected)]
        self.seen, self.expected = [], []
        return found

"""People's pages: light, server-sent HTML that calls only the public API with the caller's key.

Each service serves its own pages with ``pages_router``: ``GET /pages/<name>`` answers the page's
HTML, ``GET /pages/assets/<file>`` the shared ``pages.css``, ``pages.js`` and ``icon.svg`` (from this package)
and the page's own script and style (from the service's ``static/`` folder); ``GET /favicon.ico`` the icon,
for a browser that asks without a page. The pages hold no data and run
no inline code (a strict Content-Security-Policy); the key is entered once per browser tab and kept in
``sessionStorage``, and travels only in the ``Authorization`` header, as on the dashboard.

This is a hand-written router rather than Starlette's ``StaticFiles`` because every answer needs the
same security headers and only the files named here may be served.
"""

from __future__ import annotations

import html as markup
from collections.abc import Callable
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from shared.problems import Problem

__all__ = ["PAGE_HEADERS", "pages_router"]

# The pages load nothing from elsewhere and run no inline code. ``connect-src`` names the other
# services' addresses a page calls (the request form asks the classifier for its dry run).
PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_SHARED = ("pages.css", "pages.js", "icon.svg")


def _policy(connect: tuple[str, ...]) -> str:
    sources = " ".join(("'self'", *connect))
    return (f"default-src 'self'; connect-src {sources}; img-src 'self' data:; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _read(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def _filled(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", markup.escape(value, quote=True))
    return text


def pages_router(package: str, pages: dict[str, str], *, connect: tuple[str, ...] = (),
                 values: dict[str, str] | None = None,
                 values_now: Callable[[], dict[str, str]] | None = None) -> APIRouter:
    """``pages`` maps a page's name to its HTML file in ``<package>/static/``; its assets are every
    other ``.js``, ``.css`` and ``.svg`` file there. ``connect`` lists other origins the pages call.
    ``values`` fill the pages' ``{{name}}`` placeholders (HTML-escaped), e.g. another service's address
    in a data attribute; ``values_now`` fills the rest on each answer, for values that can change while
    the service runs."""
    router = APIRouter(include_in_schema=False)
    headers = {**PAGE_HEADERS, "Content-Security-Policy": _policy(connect)}
    html = {name: _filled(_read(package, f"static/{file}"), values or {}) for name, file in pages.items()}
    assets = {name: _read("shared.pages", f"static/{name}") for name in _SHARED}
    static = resources.files(package).joinpath("static")
    for entry in static.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if suffix in _TYPES and entry.name not in assets:
            assets[entry.name] = entry.read_text(encoding="utf-8")

    @router.get("/pages/{name}")
    async def page(name: str) -> HTMLResponse:
        if name not in html:
            raise Problem(404, f"There is no page {name!r}.")
        return HTMLResponse(_filled(html[name], values_now()) if values_now else html[name], headers=headers)

    @router.get("/favicon.ico")
    async def favicon() -> Response:
        return Response(assets["icon.svg"], media_type=_TYPES[".svg"], headers=headers)

    @router.get("/pages/assets/{name}")
    async def asset(name: str) -> Response:
        if name not in assets:
            raise Problem(404, f"There is no page asset {name!r}.")
        media = _TYPES["." + name.rsplit(".", 1)[-1]]
        return Response(assets[name], media_type=media, headers=headers)

    return router

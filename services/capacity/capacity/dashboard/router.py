"""The dashboard: a page for the team and leadership, its live snapshot, and the shares exports.

    GET /dashboard                  the page (static; it holds no data and asks for an API key)
    GET /v1/dashboard               the snapshot as JSON
    GET /v1/dashboard/stream        server-sent events: the snapshot on connect and after every change
    GET /v1/reports/shares.csv|svg|png   the shares report as a spreadsheet and as a chart

Every data route takes the ``reader`` dependency (any caller with a key); a requester tool's
snapshot and stream show only the cards its tool posted, and count the others. Moves go through the
board's own routes. The stream polls the ledger's version, which every save bumps, and the number of
OKR sets whose titles are known, so two cheap Redis reads per connection and tick find every change,
whichever instance made it.
"""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from capacity import shares
from capacity.dashboard.charts import Chart, shares_chart, to_png, to_svg
from capacity.dashboard.exports import shares_csv
from capacity.dashboard.snapshot import dashboard, lane_colours
from capacity.service import CapacityService
from capacity.store import TitleStore
from shared.access import Caller
from shared.days import FIRST_DAY, LAST_DAY
from shared.faults import TRANSIENT
from shared.problems import Problem
from shared.runtime import stopping

__all__ = ["dashboard_router"]

log = logging.getLogger(__name__)

ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
# The page loads nothing from elsewhere and runs no inline code.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                                           "frame-ancestors 'none'; base-uri 'none'",
                "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
READ: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, an unknown key or a revoked key."},
    403: {"description": "The key may not read the dashboard."},
    429: {"description": "Too many calls with this key."},
    503: {"description": "Redis is unreachable."},
}
QUERIED = {**READ, 422: {"description": f"A query parameter is not valid (dates are YYYY-MM-DD, from {FIRST_DAY} "
                                        f"to {LAST_DAY}, at most {shares.MAX_REPORT_CYCLES} cycles)."}}
From = Annotated[date | None, Query(alias="from", description="First day of the range (default: 12 cycles ago).")]
To = Annotated[date | None, Query(description="Last day of the range (default: today).")]
Width = Annotated[int, Query(ge=480, le=2400, description="Width of the chart in pixels (CSS pixels for SVG).")]
Height = Annotated[int, Query(ge=300, le=1600, description="Height of the chart in pixels.")]


def _static(name: str) -> str:
    return resources.files("capacity.dashboard").joinpath("static", name).read_text(encoding="utf-8")


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def dashboard_router(service: CapacityService, titles: TitleStore, reader: Callable[..., Any], *,
                     revoked: Callable[[str], bool], poll_s: float = 0.5, heartbeat_s: float = 15.0) -> APIRouter:
    """The dashboard's page and data; ``revoked`` says whether a key was revoked since its stream opened."""
    router = APIRouter()
    Reader = Annotated[Caller, Depends(reader)]
    page = _static("dashboard.html")
    assets = {name: _static(name) for name in ASSETS}

    async def report(start: date | None, end: date | None) -> dict[str, Any]:
        ledger, plan = await service.current()
        try:
            return shares.shares_report(ledger, start, end, await service.store.policies(), await titles.load(), plan)
        except shares.OutOfRange as exc:
            raise Problem(422, str(exc), type_="/problems/report-range") from exc

    async def versions() -> tuple[int, int]:
        return await service.store.version(), await titles.version()

    async def snapshot(caller: Caller) -> dict[str, Any]:
        version = await service.store.version()
        ledger, plan = await service.current()
        known = await titles.load()
        history = shares.shares_report(ledger, None, None, await service.store.policies(), known, plan)
        return dashboard(ledger, plan, version=version, history=history, generated_at=datetime.now(UTC),
                         titles=known, only=caller.only_posted_by)

    @router.get("/dashboard", response_class=HTMLResponse, tags=["dashboard"])
    async def dashboard_page() -> HTMLResponse:
        """The board in lane colours, this cycle's shares against the policy, the shares over time."""
        return HTMLResponse(page, headers=PAGE_HEADERS)

    @router.get("/dashboard/{asset}", include_in_schema=False)
    async def dashboard_asset(asset: str) -> Response:
        if asset not in assets:
            raise Problem(404, f"No dashboard file {asset}.")
        return Response(assets[asset], media_type=ASSETS[asset], headers=PAGE_HEADERS)

    @router.get("/v1/dashboard", tags=["dashboard"], responses=READ)
    async def dashboard_snapshot(caller: Reader) -> dict[str, Any]:
        """Everything the dashboard shows: the board, WIP, this cycle's shares, their history, the backlog,
        open trade-offs, collisions and alerts."""
        return await snapshot(caller)

    @router.get("/v1/dashboard/stream", tags=["dashboard"], response_class=StreamingResponse,
                responses={**READ, 200: {"content": {"text/event-stream": {}},
                                         "description": "`snapshot` events; a comment line every 15 s."}})
    async def dashboard_stream(request: Request, caller: Reader) -> StreamingResponse:
        """Server-sent events: a ``snapshot`` event (the ``/v1/dashboard`` document) now and after every
        change; ``unavailable`` while Redis cannot be read. Send the key in the ``Authorization`` header."""
        first = await snapshot(caller)  # before the stream starts, so an outage still answers 503 problem+json
        return StreamingResponse(frames(request, caller, first), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def frames(request: Request, caller: Caller, first: dict[str, Any]) -> AsyncIterator[bytes]:
        """Ends when the client leaves (Starlette then cancels it), when the process begins to stop, or when
        the caller's key is revoked (the page's reconnect then meets the 401)."""
        yield _frame("snapshot", first)
        seen, quiet_since = (first["version"], first["titles_version"]), time.monotonic()
        while not stopping(request.app):
            await asyncio.sleep(poll_s)
            if revoked(caller.key_id):
                log.info("dashboard stream: the key %s was revoked; the stream ends", caller.key_id)
                return
            try:
                # Every save bumps the ledger's version (a new cycle's replan too); every new OKR set the other.
                if await versions() != seen:
                    latest = await snapshot(caller)
                    seen, quiet_since = (latest["version"], latest["titles_version"]), time.monotonic()
                    yield _frame("snapshot", latest)
            except TRANSIENT as exc:  # the page says so; the stream carries on once Redis is back
                log.warning("dashboard stream: cannot read the ledger (%r)", exc)
                yield _frame("unavailable", {"detail": f"The ledger cannot be read ({type(exc).__name__}); "
                                                       "showing the last snapshot until it can."})
                await asyncio.sleep(max(poll_s, 2.0))
            if time.monotonic() - quiet_since >= heartbeat_s:
                quiet_since = time.monotonic()
                yield b": keep-alive\n\n"

    @router.get("/v1/reports/shares.csv", tags=["capacity"], response_class=Response,
                responses={**QUERIED, 200: {"content": {"text/csv": {}}}})
    async def shares_as_csv(caller: Reader, from_: From = None, to: To = None) -> Response:
        """The shares report as CSV: one row per cycle and lane and per cycle and objective."""
        found = await report(from_, to)
        ledger, _ = await service.current()
        name = f"capacity-shares-{found['from']}-{found['to']}.csv"
        return Response(shares_csv(found, ledger.policy), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def chart(start: date | None, end: date | None, width: int, height: int) -> tuple[str, Chart]:
        found = await report(start, end)
        ledger, _ = await service.current()
        drawn = shares_chart(found, lane_colours(ledger), width=width, height=height)
        return f"capacity-shares-{found['from']}-{found['to']}", drawn

    @router.get("/v1/reports/shares.svg", tags=["capacity"], response_class=Response,
                responses={**QUERIED, 200: {"content": {"image/svg+xml": {}}}})
    async def shares_as_svg(caller: Reader, from_: From = None, to: To = None, width: Width = 960,
                            height: Height = 540) -> Response:
        """The shares per lane and cycle as a stacked bar chart, with the customer reserve."""
        name, drawn = await chart(from_, to, width, height)
        return Response(to_svg(drawn), media_type="image/svg+xml",
                        headers={"Content-Disposition": f'inline; filename="{name}.svg"'})

    @router.get("/v1/reports/shares.png", tags=["capacity"], response_class=Response,
                responses={**QUERIED, 200: {"content": {"image/png": {}}}})
    async def shares_as_png(caller: Reader, from_: From = None, to: To = None, width: Width = 960,
                            height: Height = 540) -> Response:
        """The same chart as a PNG (drawn at twice the size, for sharp slides)."""
        name, drawn = await chart(from_, to, width, height)
        return Response(await asyncio.to_thread(to_png, drawn), media_type="image/png",
                        headers={"Content-Disposition": f'inline; filename="{name}.png"'})

    return router

"""Classifier's HTTP surface: publish and read OKR sets; classify a draft request."""

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from classifier.domain import QUARTER_PATTERN, Classifier, OkrSet, OkrSetCreate, next_version
from classifier.similarity.lookup import Similarity
from classifier.similarity.wording import shown
from classifier.store import OkrStore
from shared.access import Caller, Role
from shared.auth import AUTH_RESPONSES, Access
from shared.envelope import derived_id, envelope
from shared.events import OkrsPublished, RequestDetails
from shared.messaging import EventPublisher
from shared.problems import Problem

Quarter = Annotated[str, Path(pattern=QUARTER_PATTERN, examples=["2026-Q4"])]


def okrs_router(store: OkrStore, publisher: EventPublisher, access: Access,
                classifier: Classifier, current: Callable[[], Awaitable[OkrSet | None]],
                source: str, similarity: Similarity) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["okrs"])
    Ops = Annotated[Caller, Depends(access.allow(Role.OPS))]
    Reader = Annotated[Caller, Depends(access.allow())]
    # The current objectives and the dry run are open to a public request form's submit-only key too.
    Drafter = Annotated[Caller, Depends(access.allow(submit_only=True))]

    @router.put("/okrs/{quarter}", responses={**AUTH_RESPONSES, 413: {}, 422: {}})
    async def publish_okrs(quarter: Quarter, body: OkrSetCreate, caller: Ops) -> dict[str, Any]:
        if body.quarter is not None and body.quarter != quarter:
            raise Problem(422, f"The body is for {body.quarter}, the path for {quarter}.")
        async with store.publishing(quarter):  # one version number per publication
            return await publish(quarter, body, caller.tool)

    async def publish(quarter: str, body: OkrSetCreate, caller: str) -> dict[str, Any]:
        latest = await store.latest(quarter)
        okrs = next_version(latest, quarter, body, by=caller, at=datetime.now(UTC))
        if okrs is None:
            assert latest is not None
            return latest.model_dump(mode="json")
        event = OkrsPublished(quarter=quarter, version=okrs.version, objectives=okrs.objectives,
                              approved_by=okrs.approved_by, approved_at=okrs.approved_at, published_by=caller)
        # Stamped with the set's publication time, so a rebuild restores the set as it is read now.
        await publisher.publish(envelope(event, source=source, time=okrs.published_at,
                                         event_id=derived_id("okrs", quarter, str(okrs.version))))
        await store.save(okrs)
        return okrs.model_dump(mode="json")

    @router.get("/okrs/current", responses={**AUTH_RESPONSES, 404: {}})
    async def current_okrs(reader: Drafter) -> dict[str, Any]:
        okrs = await current()
        if okrs is None:
            raise Problem(404, "No OKR set is published for the current quarter.")
        return okrs.model_dump(mode="json")

    @router.get("/okrs/{quarter}", responses={**AUTH_RESPONSES, 404: {}, 422: {}})
    async def quarter_okrs(quarter: Quarter, reader: Reader,
                           version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
        okrs = await (store.version(quarter, version) if version else store.latest(quarter))
        if okrs is None:
            raise Problem(404, f"No OKR set is published for {quarter}"
                               + (f" at version {version}." if version else "."))
        return {**okrs.model_dump(mode="json"), "versions": await store.versions(quarter)}

    @router.post("/classify", tags=["classify"], responses={**AUTH_RESPONSES, 413: {}, 422: {}})
    async def classify_draft(body: RequestDetails, reader: Drafter) -> dict[str, Any]:
        """The classification a request would get, and the open requests it looks like (nothing is kept)."""
        result = classifier.classify(body, await current())
        found = await similarity.find("draft", body, result.objective_id)
        now = datetime.now(UTC)
        own = reader.role is not Role.REQUESTER_TOOL
        return {**asdict(result), "similar": [
            shown(s, now, full=own or (not reader.submit_only
                                      and found.submitted_by.get(s.request_id) == reader.tool)) for s in found.similar]}

    return router

"""The classifier's dry run of an OKR set before it is published: what it would do to the open requests.

    POST /v1/okrs/preview      (ops) the body ``PUT /v1/okrs/{quarter}`` takes; nothing is published

Every open request (``OpenRequests``: submitted, not yet done or withdrawn) is classified under the
proposed set and compared with the objective it has now.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from classifier.domain import Classification, Classifier, OkrSet, OkrSetCreate, OpenRequest, next_version
from classifier.store import OkrStore, OpenRequests
from shared.access import Caller, Role
from shared.auth import AUTH_RESPONSES, Access

__all__ = ["compare", "preview_router"]


def _change(request: OpenRequest, result: Classification) -> str:
    if request.objective_id is not None and result.objective_id is None:
        return "unaligned"
    if request.objective_id is None:
        return "aligned"
    return "objective" if request.objective_id != result.objective_id else "rank"


def compare(okrs: OkrSet, requests: list[OpenRequest], classifier: Classifier) -> dict[str, Any]:
    """How many open requests would change objective, lose their objective, gain one, or only change rank."""
    changed = classifier.uncached().changed_by(okrs, requests)
    items = sorted(({"request_id": request.request_id, "title": request.details.title,
                     "lane": request.details.requester.type, "change": _change(request, result),
                     "from": {"objective_id": request.objective_id, "rank": request.objective_rank},
                     "to": {"objective_id": result.objective_id, "rank": result.objective_rank}}
                    for request, result in changed), key=lambda item: (item["change"], item["request_id"]))
    counts = {kind: sum(1 for item in items if item["change"] == kind)
              for kind in ("objective", "unaligned", "aligned", "rank")}
    return {"quarter": okrs.quarter, "version": okrs.version, "open_requests": len(requests),
            "would_change_objective": counts["objective"], "would_become_unaligned": counts["unaligned"],
            "would_become_aligned": counts["aligned"], "would_change_rank_only": counts["rank"],
            "unchanged": len(requests) - len(items), "items": items, "published": False}


def preview_router(store: OkrStore, open_requests: OpenRequests, access: Access, classifier: Classifier,
                   quarter_now: Callable[[], str]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["okrs"])
    Ops = Annotated[Caller, Depends(access.allow(Role.OPS))]

    @router.post("/okrs/preview", responses={**AUTH_RESPONSES, 413: {}, 422: {}})
    async def preview_okrs(body: OkrSetCreate, caller: Ops) -> dict[str, Any]:
        """The classifier's dry run of the proposed set (for ``quarter``, by default the current one) over
        the open requests: how many would change objective, become unaligned or aligned, with the list.
        ``current`` says whether the set's quarter is the current one (else it takes effect when that
        quarter begins). Nothing is published."""
        quarter = body.quarter or quarter_now()
        latest = await store.latest(quarter)
        proposed = next_version(latest, quarter, body, by=caller.tool, at=body.approved_at) or latest
        assert proposed is not None
        found = compare(proposed, await open_requests.all(), classifier)
        return {**found, "current": quarter == quarter_now(), "same_as_latest": proposed is latest}

    return router

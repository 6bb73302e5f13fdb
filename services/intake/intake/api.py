"""Intake's HTTP surface: the one door every request comes through."""

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from intake.bodies import MergeBody, RequestAccepted, RequestCreate, WithdrawBody
from intake.domain import can_withdraw, listed_requests, names_others, redacted, request_id_for
from intake.links import LINK_ACTOR, LINK_RESPONSES, follow_url, followed, key_or_link
from intake.merge_claims import MERGE_PUBLISHED
from intake.merges import MERGED, merge_refusal, merged_from, merged_into, redacted_merge
from intake.store import RequestStore
from shared.access import TEAM_ROLES, Caller, Role
from shared.auth import AUTH_RESPONSES, Access
from shared.envelope import derived_id, envelope
from shared.events import Lane, RequestDetails, Requester, RequestMerged, RequestSubmitted, RequestWithdrawn
from shared.faults import TRANSIENT
from shared.idempotency import IdempotencyKeys, StoredAnswer, fingerprint
from shared.lifecycle import Status
from shared.links import LinkSigner, RequestLink
from shared.messaging import EventPublisher
from shared.problems import Problem


def _unavailable(what: str) -> Problem:
    return Problem(503, f"{what} is unavailable, so the request was not accepted. Retry later with "
                        "the same Idempotency-Key: it answers with the same request, never a second one.",
                   headers={"Retry-After": "5"})


def _unconfirmed(what: str) -> Problem:
    """A send the broker did not acknowledge in time: the producer goes on retrying it, so it may still land."""
    return Problem(503, f"The event log did not confirm {what} in time; it may still take effect. Retry with the "
                        "same call (and the same Idempotency-Key): it answers with the same outcome, never a "
                        "second one.", headers={"Retry-After": "5"})


def requests_router(store: RequestStore, publisher: EventPublisher, keys: IdempotencyKeys,
                    access: Access, max_page_size: int, source: str,
                    signer: LinkSigner | None = None) -> APIRouter:
    router = APIRouter(prefix="/v1/requests", tags=["requests"])
    Reader = Annotated[Caller, Depends(access.allow())]
    # A public form's submit-only key posts; a signed link reads and withdraws its one request.
    Submitter = Annotated[Caller, Depends(access.allow(Role.REQUESTER_TOOL, submit_only=True))]
    Follower = Annotated[Caller | RequestLink, Depends(key_or_link(access, signer))]
    Withdrawer = Annotated[Caller | RequestLink, Depends(key_or_link(access, signer, Role.REQUESTER_TOOL))]
    Team = Annotated[Caller, Depends(access.allow(*TEAM_ROLES))]

    def visible(found: dict[str, Any] | None, request_id: str, reader: Caller) -> dict[str, Any]:
        # Another tool's request answers as if it did not exist: its id tells nothing.
        if found is None or not reader.may_see(found["submitted_by"]):
            raise Problem(404, f"No request {request_id}.")
        return found

    @router.post("", status_code=202, response_model=RequestAccepted,
                 responses={**AUTH_RESPONSES, 409: {}, 413: {}, 422: {}})
    async def submit(body: RequestCreate, http: Request, poster: Submitter,
                     idempotency_key: Annotated[str | None, Header()] = None) -> Any:
        refusal = poster.refusal_to_post(body.requester.type, body.requester.team)
        if refusal is not None:
            raise Problem(403, refusal)
        caller = poster.tool
        body_hash = fingerprint(await http.body())
        try:
            if idempotency_key is not None:
                stored = await keys.begin(caller, idempotency_key, body_hash)
                if stored is not None:
                    return JSONResponse(stored.body, status_code=stored.status,
                                        headers={"Idempotent-Replayed": "true"})
            request_id = request_id_for(caller, idempotency_key, str(uuid.uuid4()))
            details = RequestDetails(**body.model_dump())
            if idempotency_key is not None:
                existing = await store.get(request_id)
                if existing is not None:  # the key's answer expired, its request did not
                    return await _reused(keys, caller, idempotency_key, body_hash, existing, details,
                                         follow_url(signer, request_id, body.requester.email))
            submitted = RequestSubmitted(request_id=request_id, request=details, submitted_at=datetime.now(UTC),
                                         submitted_by=caller)
            event = envelope(submitted, source=source,
                             event_id=derived_id(request_id, submitted.event_type))
            await publisher.publish(event)
        except Problem:
            raise  # the key's own answer (in flight, another body): the claim is not this call's to drop
        except Exception as exc:
            # Nothing was accepted: the key is free again at once for the retry, whatever failed.
            if idempotency_key is not None:
                await _release(keys, caller, idempotency_key)
            if not isinstance(exc, TRANSIENT):
                raise
            if isinstance(exc, TimeoutError):
                raise _unconfirmed("the request") from exc
            raise _unavailable("The event log" if isinstance(exc, KafkaError) else "The request store") from exc
        # Accepted: the event is on Kafka. If Redis fails now, intake's consumer writes the same
        # record from the event, and a retry with the same key finds the same request id.
        answer = _accepted(request_id, follow_url(signer, request_id, body.requester.email))
        with contextlib.suppress(*TRANSIENT):
            await store.save_submitted(event.id, event.time, submitted)
            if idempotency_key is not None:
                await keys.complete(caller, idempotency_key, body_hash, StoredAnswer(202, answer))
        return JSONResponse(answer, status_code=202, headers={"Location": answer["links"]["self"]})

    @router.get("/{request_id}", responses={**AUTH_RESPONSES, **LINK_RESPONSES, 404: {}})
    async def get_request(request_id: str, reader: Follower) -> dict[str, Any]:
        if isinstance(reader, RequestLink):
            return await followed(store, reader, request_id)
        found = visible(await store.get(request_id), request_id, reader)
        if not reader.sees_everything:
            listed = set().union(*(listed_requests(entry) for entry in found["timeline"]),
                                 *({e["data"]["request_id"], e["data"]["into"]} for e in found["timeline"]
                                   if e["type"] == MERGED))
            own = {rid for rid, by in (await store.posted_by(listed)).items() if by == reader.tool} | {request_id}
            found["merged_from"] = [rid for rid in merged_from(found) if rid in own]
            requester = found["request"]["requester"]["email"]
            untold = {entry["event_id"] for entry in found["timeline"] if names_others(entry, own)}
            found["timeline"] = [redacted_merge(entry, own) if entry["type"] == MERGED
                                 else redacted(entry, own, requester.__eq__, untold) for entry in found["timeline"]]
            return found
        found["merged_from"] = merged_from(found)
        return found

    @router.get("", responses={**AUTH_RESPONSES, 422: {}})
    async def list_requests(
        reader: Reader,
        requester_id: Annotated[str | None, Query(max_length=200)] = None,
        status: Status | None = None,
        lane: Lane | None = None,
        limit: Annotated[int, Query(ge=1, le=max_page_size)] = 20,
        cursor: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    ) -> dict[str, Any]:
        items, next_cursor = await store.page(after=cursor, limit=limit, requester_id=requester_id,
                                              status=status, lane=lane,
                                              submitted_by=reader.only_posted_by)
        return {"items": items, "next_cursor": next_cursor}

    @router.post("/{request_id}/withdraw", status_code=202,
                 responses={**AUTH_RESPONSES, **LINK_RESPONSES, 404: {}, 409: {}, 413: {}, 422: {}})
    async def withdraw(request_id: str, poster: Withdrawer, body: WithdrawBody | None = None) -> dict[str, Any]:
        if isinstance(poster, RequestLink):
            found, caller = await followed(store, poster, request_id, withdraw=True), LINK_ACTOR
        else:
            found, caller = visible(await store.get(request_id), request_id, poster), poster.tool
        if not can_withdraw(found["status"]):
            raise Problem(409, f"Request {request_id} is already {found['status']}.")
        withdrawn = RequestWithdrawn(request_id=request_id, withdrawn_by=caller,
                                     reason=body.reason if body else None)
        event = envelope(withdrawn, source=source,
                         event_id=derived_id(request_id, withdrawn.event_type))
        try:
            await publisher.publish(event)
        except TimeoutError as exc:
            raise _unconfirmed("the withdrawal") from exc
        except TRANSIENT as exc:
            raise _unavailable("The event log") from exc
        return {"id": request_id, "status": "withdrawn",
                "links": {"self": f"/v1/requests/{request_id}"}}

    @router.post("/{request_id}/merge", status_code=202,
                 responses={**AUTH_RESPONSES, 404: {}, 409: {}, 413: {}, 422: {}})
    async def merge(request_id: str, body: MergeBody, member: Team) -> JSONResponse:
        """Close the request as ``merged`` into another open one (``request.merged``); its requester hears
        the survivor's news from now on. Asking again for the same merge answers the same."""
        found = visible(await store.get(request_id), request_id, member)
        into = visible(await store.get(body.into), body.into, member)
        refusal = merge_refusal(request_id, found, into)
        if refusal is not None:
            status, detail, kind = refusal
            raise Problem(status, detail, type_=kind)
        answer = {"id": request_id, "status": "merged", "into": into["id"],
                  "links": {"self": f"/v1/requests/{request_id}", "into": f"/v1/requests/{into['id']}"}}
        if merged_into(found) == into["id"]:
            return JSONResponse(answer, status_code=202, headers={"Idempotent-Replayed": "true"})
        refused = await store.merges.claim(request_id, into["id"])
        if refused == MERGE_PUBLISHED:  # asked again before intake read its own event back: nothing to publish
            return JSONResponse(answer, status_code=202, headers={"Idempotent-Replayed": "true"})
        if refused is not None:
            raise Problem(409, refused, type_="/problems/request-closed")
        merged = RequestMerged(
            request_id=request_id, into=into["id"], merged_by=member.tool, reason=body.reason,
            title=found["request"]["title"], requester=Requester.model_validate(found["request"]["requester"]),
            into_title=into["request"]["title"],
            into_requester=Requester.model_validate(into["request"]["requester"]))
        try:
            await publisher.publish(envelope(merged, source=source,
                                             event_id=derived_id(request_id, merged.event_type)))
        except TimeoutError as exc:
            # The send may still land: the claim stays (it lapses within a minute), so no other merge of
            # this request, nor the reverse one, is published meanwhile.
            raise _unconfirmed("the merge") from exc
        except TRANSIENT as exc:
            await _release_merge(store, request_id)
            raise _unavailable("The event log") from exc
        with contextlib.suppress(*TRANSIENT):  # else the claim lapses, by when the timeline tells the merge
            await store.merges.keep(request_id)
        return JSONResponse(answer, status_code=202)

    return router


async def _release_merge(store: RequestStore, request_id: str) -> None:
    with contextlib.suppress(*TRANSIENT):
        await store.merges.release(request_id)


def _accepted(request_id: str, follow: str | None = None) -> dict[str, Any]:
    links = {"self": f"/v1/requests/{request_id}", "withdraw": f"/v1/requests/{request_id}/withdraw"}
    return {"id": request_id, "status": "submitted", "links": {**links, **({"page": follow} if follow else {})}}


async def _reused(keys: IdempotencyKeys, caller: str, key: str, body_hash: str, existing: dict[str, Any],
                  details: RequestDetails, follow: str | None = None) -> JSONResponse:
    """A key reused after its answer expired: the same body replays, another body is refused. The request
    made under the key is never changed."""
    if existing["request"] != details.model_dump(mode="json"):
        await _release(keys, caller, key)
        raise Problem(422, f"This Idempotency-Key was already used for request {existing['id']}, with a "
                           "different body; use a new key for a new request.",
                      type_="https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/",
                      request_id=existing["id"])
    answer = _accepted(existing["id"], follow)
    await keys.complete(caller, key, body_hash, StoredAnswer(202, answer))
    return JSONResponse(answer, status_code=202,
                        headers={"Idempotent-Replayed": "true", "Location": answer["links"]["self"]})


async def _release(keys: IdempotencyKeys, caller: str, key: str) -> None:
    # If Redis is away too, the in-flight claim expires on its own within a minute.
    with contextlib.suppress(*TRANSIENT):
        await keys.abandon(caller, key)

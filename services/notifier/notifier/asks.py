"""What the notifier keeps of each request for reuse notices (``notifier.reuse``), in Redis.

    notifier:ask:<request id>        its requester (id, name, email, team), from request.submitted
    notifier:audience:<request id>   who joined its audience by merges: address → person
    notifier:merged-into             each merged request → the request it was merged into

Both are folds of the requests topic, which the notifier consumes; a rebuild puts them back from it
(``restore``). What is known here of an event's request goes beside it as its messages are composed
(``known``): the request's audience, and each similar request's requester.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from redis.asyncio import Redis

from notifier.reuse import NOTHING_KNOWN, Known, join
from shared.envelope import CloudEvent, parse_data
from shared.events import EventData, RequestClassified, Requester, RequestMerged, RequestSubmitted

__all__ = ["Asks", "Person"]

Person = Mapping[str, Any]


def _ask_key(request_id: str) -> str:
    return f"notifier:ask:{request_id}"


def _audience_key(request_id: str) -> str:
    return f"notifier:audience:{request_id}"


MERGED_INTO = "notifier:merged-into"


def survivor(into: str, merged_into: Mapping[str, str]) -> str:
    """Where a merge into ``into`` ends up: ``into`` itself, or what it was merged into since, and so on.
    Merges of different requests arrive in any order (each is keyed by its own request)."""
    seen = {into}
    while (after := merged_into.get(into)) is not None and after not in seen:
        seen.add(after)
        into = after
    return into


def _people(rows: Mapping[str, str]) -> dict[str, Person]:
    """An audience as Redis keeps it (address → person as JSON)."""
    return {address: json.loads(person) for address, person in rows.items()}


def _request_of(event: EventData) -> str | None:
    request_id = getattr(event, "request_id", None)
    return request_id if isinstance(request_id, str) else None


def _similar_ids(event: EventData) -> list[str]:
    """The look-alike requests a classification names (the only event that names any)."""
    return [s.request_id for s in event.similar] if isinstance(event, RequestClassified) else []


def _known(event: EventData, audiences: Mapping[str, Mapping[str, Person]], requesters: Mapping[str, Person]
           ) -> Known:
    audience = audiences.get(request_id) if (request_id := _request_of(event)) is not None else None
    joined = tuple(sorted(audience.values(), key=lambda p: p["email"])) if audience else ()
    return Known(joined, {rid: person for rid in _similar_ids(event) if (person := requesters.get(rid)) is not None})


def _person(requester: Requester) -> dict[str, Any]:
    return requester.model_dump(include={"id", "name", "email", "team"})


class Asks:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def learn(self, event: CloudEvent) -> None:
        """Keep the requester of a submitted request, and join a merged request's people to the survivor's
        audience. Idempotent: a redelivered event writes the same."""
        if event.type == "request.submitted":
            submitted = parse_data(event, RequestSubmitted)
            await self._redis.set(_ask_key(submitted.request_id), json.dumps(_person(submitted.request.requester)))
        elif event.type == "request.merged":
            merged = parse_data(event, RequestMerged)
            await self._redis.hset(MERGED_INTO, merged.request_id, merged.into)
            chain = cast(dict[str, str], await self._redis.hgetall(MERGED_INTO))
            into = survivor(merged.into, chain)
            audiences = {rid: await self.audience(rid) for rid in (merged.request_id, into)}
            joined = join(audiences, merged, into)
            if joined:
                await self._redis.hset(_audience_key(into), mapping={a: json.dumps(p) for a, p in joined.items()})

    async def learn_all(self, events: Sequence[CloudEvent]) -> None:
        """``learn`` for a run of events without merges (``notifier.handlers``): one round trip."""
        assert all(event.type != "request.merged" for event in events), "a merge is learnt on its own"
        submitted = [parse_data(event, RequestSubmitted) for event in events if event.type == "request.submitted"]
        if submitted:
            await self._redis.mset({_ask_key(s.request_id): json.dumps(_person(s.request.requester))
                                    for s in submitted})

    async def audience(self, request_id: str) -> dict[str, Person]:
        return _people(cast(dict[str, str], await self._redis.hgetall(_audience_key(request_id))))

    async def known(self, events: Sequence[EventData]) -> list[Known]:
        """What is known of each event's request beyond the event, as its messages are composed: who joined
        its audience, and the requester of each similar request the notifier knows; one round trip for all."""
        subjects = list(dict.fromkeys(rid for event in events if (rid := _request_of(event)) is not None))
        similar = list(dict.fromkeys(rid for event in events for rid in _similar_ids(event)))
        if not subjects:
            return [NOTHING_KNOWN for _ in events]
        async with self._redis.pipeline(transaction=False) as pipe:
            for request_id in subjects:
                pipe.hgetall(_audience_key(request_id))
            if similar:
                pipe.mget([_ask_key(r) for r in similar])
            found = await pipe.execute()
        audiences = {rid: _people(rows) for rid, rows in zip(subjects, found[:len(subjects)], strict=True)}
        rows = cast(list[str | None], found[-1]) if similar else []
        requesters = {rid: json.loads(row) for rid, row in zip(similar, rows, strict=True) if row is not None}
        return [_known(event, audiences, requesters) for event in events]

    async def restore(self, requesters: Mapping[str, Person], audiences: Mapping[str, Mapping[str, Person]],
                      merged_into: Mapping[str, str] | None = None, batch: int = 500) -> None:
        """Write what a rebuild folded from the log, ``batch`` keys a round trip."""
        writes: list[tuple[str, Any]] = [(_ask_key(r), json.dumps(p)) for r, p in requesters.items()]
        if merged_into:
            writes.append((MERGED_INTO, dict(merged_into)))
        writes += [(_audience_key(r), {a: json.dumps(p) for a, p in people.items()})
                   for r, people in audiences.items() if people]
        for first in range(0, len(writes), batch):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, value in writes[first:first + batch]:
                    if isinstance(value, dict):
                        pipe.hset(key, mapping=value)
                    else:
                        pipe.set(key, value)
                await pipe.execute()

    @staticmethod
    def fold(event: CloudEvent, requesters: dict[str, Person], audiences: dict[str, dict[str, Person]],
             merged_into: dict[str, str]) -> None:
        """What ``learn`` does, in memory, for a rebuild reading the log in order."""
        if event.type == "request.submitted":
            submitted = parse_data(event, RequestSubmitted)
            requesters.setdefault(submitted.request_id, _person(submitted.request.requester))
        elif event.type == "request.merged":
            merged = parse_data(event, RequestMerged)
            merged_into[merged.request_id] = merged.into
            into = survivor(merged.into, merged_into)
            audiences[into] = join(audiences, merged, into)

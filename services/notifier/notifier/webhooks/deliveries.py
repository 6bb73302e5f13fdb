"""The delivery log: one delivery per (event, subscription), each attempt kept, listed by status.

A delivery's id is its ``webhook-id``, the same for every retry and every manual redelivery, so
a receiver can dedupe on it. Status moves ``pending`` → ``succeeded`` | ``failed`` | ``cancelled``
(and back to ``pending`` on a manual redelivery) in one script that also keeps the indexes the
log is listed by (per subscription and overall, per status) and the schedule. Each change bumps the
delivery's revision and marks it unpublished: the journal (``notifier.journal``) mirrors it to the log,
and a rebuild puts it back (``restore``), pending ones due again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from opentelemetry.context import Context
from redis.asyncio import Redis

from notifier.journal import UNPUBLISHED, DeliveryRecorded, Journal, member
from notifier.sending.schedule import DUE, TRACES, job, lease_key
from notifier.webhooks.scripts import AT_LEAST, FAN_OUT, MOVE
from notifier.webhooks.subscriptions import Subscription
from shared.batches import trace_of
from shared.envelope import CloudEvent, derived_id

__all__ = ["STATUSES", "Delivery", "DeliveryLog", "Status", "delivery_id"]

Status = Literal["pending", "succeeded", "failed", "cancelled"]
STATUSES: tuple[Status, ...] = ("pending", "succeeded", "failed", "cancelled")
KIND = "delivery"
_SEQ = "notifier:delivery-seq"
ANY_SUBSCRIPTION = "*"
@dataclass(frozen=True)
class Delivery:
    """What the dispatcher needs to make an attempt."""

    id: str
    subscription_id: str
    event_type: str
    payload: str
    status: Status
    failures: int


def _record(delivery_id: str) -> str:
    return f"notifier:delivery:{delivery_id}"


def _attempts(delivery_id: str) -> str:
    return f"notifier:delivery:{delivery_id}:attempts"


def _index(subscription_id: str, status: str = "all") -> str:
    return f"notifier:deliveries:{subscription_id}:{status}"


def delivery_id(event_id: str, subscription_id: str) -> str:
    """The delivery of one event to one subscription: its ``webhook-id``."""
    return derived_id("webhook", event_id, subscription_id)


class DeliveryLog:
    def __init__(self, redis: Redis, journal: Journal | None = None) -> None:
        self._redis = redis
        self._journal = journal
        if journal is not None:
            journal.track(KIND, self)

    async def fan_out(self, wanted: Sequence[tuple[CloudEvent, Sequence[Subscription]]], *, now: float,
                      created_at: str) -> dict[str, str]:
        """One pending delivery of each event per subscription that wants it, once, in one round trip (each job's
        trace queued with it, so none is claimed before its trace is there); answers delivery id → event id."""
        ids: dict[str, str] = {}
        async with self._redis.pipeline(transaction=True) as pipe:
            for event, subscriptions in wanted:
                keys: list[str] = [DUE, _SEQ, UNPUBLISHED]
                args: list[str | float] = [now, created_at, event.model_dump_json()]
                for subscription in subscriptions:
                    one = delivery_id(event.id, subscription.id)
                    TRACES.queue(pipe, job(KIND, one), trace_of(event.id))
                    keys += [_record(one), _index(subscription.id), _index(subscription.id, "pending"),
                             _index(ANY_SUBSCRIPTION), _index(ANY_SUBSCRIPTION, "pending")]
                    args += [one, json.dumps({"id": one, "subscription_id": subscription.id,
                                              "event_id": event.id, "event_type": event.type})]
                    ids[one] = event.id
                pipe.eval(FAN_OUT, len(keys), *keys, *args)
            if ids:
                await pipe.execute()
        return ids

    async def move(self, delivery_id: str, subscription_id: str, status: Status, *,
                   allowed_from: Sequence[Status], due: float | None = None,
                   attempt: Mapping[str, Any] | None = None, lease: str | None = None,
                   **fields: str | int) -> str | None:
        """Move a delivery to ``status`` if it is in one of ``allowed_from`` (and, given a ``lease`` token,
        only while that is still the job's lease): answers "ok", "stale", the status it was left in, or
        None when there is no such delivery."""
        keys = [_record(delivery_id), _attempts(delivery_id), DUE,
                *(_index(subscription_id, s) for s in STATUSES),
                *(_index(ANY_SUBSCRIPTION, s) for s in STATUSES), lease_key(KIND, delivery_id), UNPUBLISHED]
        pairs = [str(v) for kv in fields.items() for v in kv]
        args = [delivery_id, status, ",".join(allowed_from), "" if due is None else due,
                json.dumps(attempt) if attempt else "", lease or "", *pairs]
        return cast(str | None, await self._redis.eval(MOVE, len(keys), *keys, *args))

    async def for_attempt(self, delivery_id: str) -> Delivery | None:
        raw = cast(dict[str, str], await self._redis.hgetall(_record(delivery_id)))
        if not raw:
            return None
        body = json.loads(raw["body"])
        return Delivery(id=delivery_id, subscription_id=body["subscription_id"], event_type=body["event_type"],
                        payload=raw["payload"], status=cast(Status, raw["status"]),
                        failures=int(raw.get("failures") or 0))

    async def get(self, delivery_id: str, *, with_event: bool = True) -> dict[str, Any] | None:
        if ":" in delivery_id:  # no delivery's id has one; "<id>:attempts" would read the attempts list's key
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(_record(delivery_id))
            pipe.lrange(_attempts(delivery_id), 0, -1)
            raw, attempts = await pipe.execute()
        return _public(raw, attempts, with_event=with_event) if raw else None

    async def page(self, *, subscription_id: str | None, status: Status | None, limit: int,
                   before: int | None) -> tuple[list[dict[str, Any]], int | None]:
        """Newest first; the cursor is the position of the last delivery given."""
        index = _index(subscription_id or ANY_SUBSCRIPTION, status or "all")
        high = f"({before}" if before is not None else "+inf"
        found = cast(list[tuple[str, float]], await self._redis.zrevrangebyscore(
            index, high, "-inf", start=0, num=limit + 1, withscores=True))
        page = found[:limit]
        items = [d for d in [await self.get(i, with_event=False) for i, _ in page] if d is not None]
        return items, (int(page[-1][1]) if len(found) > limit else None)

    async def pending_of(self, subscription_id: str) -> list[str]:
        return cast(list[str], await self._redis.zrange(_index(subscription_id, "pending"), 0, -1))

    async def announce(self, *delivery_ids: str, origins: Mapping[str, Context] | None = None) -> None:
        """Put the deliveries' changes on the log (those not there yet), each in its ``origins`` context."""
        if self._journal is not None:
            await self._journal.announce(KIND, delivery_ids, origins)

    def revision_of(self, record_id: str) -> tuple[str, str]:
        return _record(record_id), "rev"

    async def snapshots(self, record_ids: Sequence[str]) -> list[DeliveryRecorded | None]:
        async with self._redis.pipeline(transaction=True) as pipe:
            for one in record_ids:
                pipe.hgetall(_record(one))
                pipe.lrange(_attempts(one), 0, -1)
            found = await pipe.execute()
        return [_recorded(one, raw, attempts) if raw else None  # None: no such delivery
                for one, raw, attempts in zip(record_ids, found[::2], found[1::2], strict=True)]

    async def restore(self, recorded: DeliveryRecorded, *, now: float) -> None:
        """Put a delivery back as the log has it (a rebuild): a pending one is due at its next attempt."""
        one, subscription_id = recorded.delivery_id, recorded.subscription_id
        body = {"id": one, "subscription_id": subscription_id, "event_id": recorded.event_id,
                "event_type": recorded.event_type_delivered}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_record(one), mapping={
                "body": json.dumps(body), "payload": recorded.payload, "seq": recorded.position,
                "status": recorded.status, "attempts": recorded.attempt_count, "failures": recorded.failures,
                "created_at": recorded.created_at, "next_attempt_at": recorded.next_attempt_at,
                "rev": recorded.revision})
            pipe.delete(_attempts(one))
            if recorded.attempts:
                pipe.rpush(_attempts(one), *(json.dumps(a) for a in recorded.attempts))
            for index in (_index(subscription_id), _index(subscription_id, recorded.status),
                          _index(ANY_SUBSCRIPTION), _index(ANY_SUBSCRIPTION, recorded.status)):
                pipe.zadd(index, {one: recorded.position})
            if recorded.status == "pending":
                due = datetime.fromisoformat(recorded.next_attempt_at).timestamp() if recorded.next_attempt_at else now
                pipe.zadd(DUE, {member(KIND, one): due})
            pipe.eval(AT_LEAST, 1, _SEQ, recorded.position)
            await pipe.execute()


def _public(raw: dict[str, str], attempts: list[str], *, with_event: bool) -> dict[str, Any]:
    body = json.loads(raw["body"])
    shown = {**body, "webhook_id": body["id"], "status": raw["status"], "created_at": raw["created_at"],
             "attempt_count": int(raw.get("attempts") or 0), "attempts": [json.loads(a) for a in attempts],
             "next_attempt_at": raw.get("next_attempt_at") or None}
    return {**shown, "event": json.loads(raw["payload"])} if with_event else shown


def _recorded(record_id: str, raw: dict[str, str], attempts: list[str]) -> DeliveryRecorded:
    body = json.loads(raw["body"])
    return DeliveryRecorded(
        revision=int(raw.get("rev") or 0), delivery_id=record_id, subscription_id=body["subscription_id"],
        event_id=body["event_id"], event_type_delivered=body["event_type"], payload=raw["payload"],
        position=int(raw["seq"]), status=raw["status"], attempts=[json.loads(a) for a in attempts],
        attempt_count=int(raw.get("attempts") or 0), failures=int(raw.get("failures") or 0),
        created_at=raw["created_at"], next_attempt_at=raw.get("next_attempt_at") or "")

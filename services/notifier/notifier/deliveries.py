"""The delivery log: one delivery per (event, subscription), each attempt kept, listed by status.

A delivery's id is its ``webhook-id``, the same for every retry and every manual redelivery, so
a receiver can dedupe on it. Status moves ``pending`` → ``succeeded`` | ``failed`` | ``cancelled``
(and back to ``pending`` on a manual redelivery) in one script that also keeps the indexes the
log is listed by (per subscription and overall, per status) and the schedule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis

from notifier.schedule import DUE, TRACES, job, lease_key
from notifier.subscriptions import Subscription
from shared.envelope import CloudEvent, derived_id

__all__ = ["STATUSES", "Delivery", "DeliveryLog", "Status"]

Status = Literal["pending", "succeeded", "failed", "cancelled"]
STATUSES: tuple[Status, ...] = ("pending", "succeeded", "failed", "cancelled")
KIND = "delivery"
_SEQ = "notifier:delivery-seq"
ANY_SUBSCRIPTION = "*"

_FAN_OUT = """
local created = 0
for i = 0, (#KEYS - 2) / 5 - 1 do
  local k = 2 + 5 * i
  local id, body = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  if redis.call('HSETNX', KEYS[k + 1], 'body', body) == 1 then
    local seq = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[k + 1], 'payload', ARGV[3], 'seq', seq, 'status', 'pending', 'attempts', 0,
               'failures', 0, 'created_at', ARGV[2], 'next_attempt_at', ARGV[2])
    for j = 2, 5 do redis.call('ZADD', KEYS[k + j], seq, id) end
    redis.call('ZADD', KEYS[1], ARGV[1], 'delivery:' .. id)
    created = created + 1
  end
end
return created
"""

# KEYS: record, attempts list, due, then the four status indexes of the subscription, then of all,
# then the job's lease. ARGV: id, new status, statuses it may move from (comma separated), due score
# or '', attempt or '', the lease token the move needs ('' for none), then field/value pairs to set.
_MOVE = """
local order = {pending = 0, succeeded = 1, failed = 2, cancelled = 3}
local old = redis.call('HGET', KEYS[1], 'status')
if not old then return false end
if ARGV[6] ~= '' and redis.call('GET', KEYS[12]) ~= ARGV[6] then return 'stale' end
if not string.find(',' .. ARGV[3] .. ',', ',' .. old .. ',', 1, true) then return old end
local seq = redis.call('HGET', KEYS[1], 'seq')
if old ~= ARGV[2] then
  redis.call('ZREM', KEYS[4 + order[old]], ARGV[1])
  redis.call('ZREM', KEYS[8 + order[old]], ARGV[1])
  redis.call('ZADD', KEYS[4 + order[ARGV[2]]], seq, ARGV[1])
  redis.call('ZADD', KEYS[8 + order[ARGV[2]]], seq, ARGV[1])
end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[4], 'delivery:' .. ARGV[1])
else
  redis.call('ZREM', KEYS[3], 'delivery:' .. ARGV[1])
end
if ARGV[5] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
end
redis.call('DEL', KEYS[12])
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 7))
return 'ok'
"""


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


class DeliveryLog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def fan_out(self, event: CloudEvent, subscriptions: Sequence[Subscription], *, now: float,
                      created_at: str) -> int:
        """One pending delivery of ``event`` per subscription, once; answers how many were new."""
        if not subscriptions:
            return 0
        keys: list[str] = [DUE, _SEQ]
        args: list[str | float] = [now, created_at, event.model_dump_json()]
        for subscription in subscriptions:
            delivery_id = derived_id("webhook", event.id, subscription.id)
            keys += [_record(delivery_id), _index(subscription.id), _index(subscription.id, "pending"),
                     _index(ANY_SUBSCRIPTION), _index(ANY_SUBSCRIPTION, "pending")]
            args += [delivery_id, json.dumps({"id": delivery_id, "subscription_id": subscription.id,
                                              "event_id": event.id, "event_type": event.type})]
        created = int(await self._redis.eval(_FAN_OUT, len(keys), *keys, *args))
        async with self._redis.pipeline(transaction=False) as pipe:
            for subscription in subscriptions:
                TRACES.queue(pipe, job(KIND, derived_id("webhook", event.id, subscription.id)))
            await pipe.execute()
        return created

    async def move(self, delivery_id: str, subscription_id: str, status: Status, *,
                   allowed_from: Sequence[Status], due: float | None = None,
                   attempt: Mapping[str, Any] | None = None, lease: str | None = None,
                   **fields: str | int) -> str | None:
        """Move a delivery to ``status`` if it is in one of ``allowed_from`` (and, given a ``lease`` token,
        only while that is still the job's lease): answers "ok", "stale", the status it was left in, or
        None when there is no such delivery."""
        keys = [_record(delivery_id), _attempts(delivery_id), DUE,
                *(_index(subscription_id, s) for s in STATUSES),
                *(_index(ANY_SUBSCRIPTION, s) for s in STATUSES), lease_key(KIND, delivery_id)]
        pairs = [str(v) for kv in fields.items() for v in kv]
        args = [delivery_id, status, ",".join(allowed_from), "" if due is None else due,
                json.dumps(attempt) if attempt else "", lease or "", *pairs]
        return cast(str | None, await self._redis.eval(_MOVE, len(keys), *keys, *args))

    async def for_attempt(self, delivery_id: str) -> Delivery | None:
        raw = cast(dict[str, str], await self._redis.hgetall(_record(delivery_id)))
        if not raw:
            return None
        body = json.loads(raw["body"])
        return Delivery(id=delivery_id, subscription_id=body["subscription_id"], event_type=body["event_type"],
                        payload=raw["payload"], status=cast(Status, raw["status"]),
                        failures=int(raw.get("failures") or 0))

    async def get(self, delivery_id: str, *, with_event: bool = True) -> dict[str, Any] | None:
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


def _public(raw: dict[str, str], attempts: list[str], *, with_event: bool) -> dict[str, Any]:
    body = json.loads(raw["body"])
    shown = {
        **body, "webhook_id": body["id"], "status": raw["status"], "created_at": raw["created_at"],
        "attempt_count": int(raw.get("attempts") or 0), "attempts": [json.loads(a) for a in attempts],
        "next_attempt_at": raw.get("next_attempt_at") or None,
    }
    if with_event:
        shown["event"] = json.loads(raw["payload"])
    return shown

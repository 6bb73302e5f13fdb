"""Capacity's Redis state: the ledger (cards, what was announced, trade-offs, alerts, policy), and the
titles of the published objectives."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.lock import Lock
from redis.typing import EncodableT, FieldT

from capacity.cycles import CycleHeld
from capacity.domain import Card, Ledger, Tradeoff, policy_from, policy_to
from capacity.objectives import SetKey, Titles
from capacity.overlaps import Link, Overlaps

CARDS, ANNOUNCED, TRADEOFFS = "capacity:cards", "capacity:announced", "capacity:tradeoffs"
ALERTS, CONFLICTS, CLOSED = "capacity:alerts", "capacity:conflicts", "capacity:closed"
POLICY, POLICIES, BYPASSES = "capacity:policy", "capacity:policies", "capacity:bypass-attempts"
VERSION = "capacity:ledger-version"
SIMILAR, MERGED = "capacity:similar", "capacity:merged"  # request → similar requests; merged → survivor
AUTHORS = "capacity:policy-authors"  # policy version → the tool that published it
CYCLES = "capacity:cycles"  # each cycle's record (capacity.cycles), by its first day
LOCK = "capacity:plan-lock"
# A rebuild wipes every capacity key but LOCK (it holds it) and VERSION, which only ever grows, so no
# instance mistakes a rebuilt ledger for its copy.
# One field per published OKR set, "quarter#version" → {objective id: title}. Not part of the ledger (learning
# a set leaves VERSION alone); a rebuild learns the titles again from okrs.published.
OBJECTIVES = "capacity:objective-titles"


class LedgerStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @property
    def redis(self) -> Redis:
        return self._redis

    def lock(self, timeout: float = 30) -> Lock:
        """One planner at a time, across every capacity instance."""
        return self._redis.lock(LOCK, timeout=timeout, blocking_timeout=max(60, timeout))

    async def version(self) -> int:
        """Bumped by every save, so an instance knows whether its copy of the ledger is current."""
        return int(await self._redis.get(VERSION) or 0)

    async def load(self) -> Ledger:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in (CARDS, ANNOUNCED, TRADEOFFS, ALERTS):
                pipe.hgetall(key)
            pipe.smembers(CONFLICTS)
            pipe.smembers(CLOSED)
            pipe.get(POLICY)
            pipe.hgetall(SIMILAR)
            pipe.hgetall(MERGED)
            pipe.hgetall(CYCLES)
            (cards, announced, tradeoffs, alerts, conflicts, closed, policy, similar, merged,
             cycles) = await pipe.execute()
        ledger = Ledger(
            cards={k: Card.from_json(json.loads(v)) for k, v in cards.items()},
            announced={k: date.fromisoformat(v) for k, v in announced.items()},
            tradeoffs={k: Tradeoff(**{**json.loads(v), "candidates": tuple(json.loads(v)["candidates"])})
                       for k, v in tradeoffs.items()},
            alerts={k: json.loads(v) for k, v in alerts.items()},
            conflicts=set(conflicts), closed=set(closed),
            overlaps=Overlaps({k: tuple(Link(**x) for x in json.loads(v)) for k, v in similar.items()}, merged),
            cycles={date.fromisoformat(k): CycleHeld.model_validate_json(v) for k, v in cycles.items()})
        if policy:
            ledger.policy = policy_from(json.loads(policy))
        return ledger

    @staticmethod
    def save(pipe: Pipeline, ledger: Ledger) -> None:
        """Queue the ledger's changes on ``pipe`` (cards the folds touched, and the small sets)."""
        for request_id in ledger.dirty:
            card = ledger.cards.get(request_id)
            if card is None:
                pipe.hdel(CARDS, request_id)
            else:
                pipe.hset(CARDS, request_id, json.dumps(card.to_json()))
            if request_id in ledger.announced:
                pipe.hset(ANNOUNCED, request_id, ledger.announced[request_id].isoformat())
            else:
                pipe.hdel(ANNOUNCED, request_id)
        # Only what changed since the ledger this one was copied from: trade-offs, alerts, policies and
        # cards are replaced, never changed in place, so a different object is a change. This keeps the
        # cost of an event independent of the history behind it.
        base = ledger.base
        for tradeoff_id, tradeoff in ledger.tradeoffs.items():
            if base is None or base.tradeoffs.get(tradeoff_id) is not tradeoff:
                pipe.hset(TRADEOFFS, tradeoff_id, json.dumps(asdict(tradeoff)))
        for alert_id, alert in ledger.alerts.items():
            if base is None or base.alerts.get(alert_id) is not alert:
                pipe.hset(ALERTS, alert_id, json.dumps(alert))
        for key, members, before in ((CONFLICTS, ledger.conflicts, base.conflicts if base else set[str]()),
                                     (CLOSED, ledger.closed, base.closed if base else set[str]())):
            added = members - before
            if added:
                pipe.sadd(key, *added)
        if base is None or base.policy is not ledger.policy:
            policy = json.dumps(policy_to(ledger.policy))
            pipe.set(POLICY, policy)
            pipe.hset(POLICIES, str(ledger.policy.version), policy)
        for version, past in ledger.policy_history.items():
            if base is None or base.policy_history.get(version) is not past:
                pipe.hset(POLICIES, str(version), json.dumps(past))
        authors: dict[FieldT, EncodableT] = {str(v): by for v, by in ledger.policy_authors.items()
                   if base is None or base.policy_authors.get(v) != by}
        if authors:
            pipe.hset(AUTHORS, mapping=authors)
        _save_overlaps(pipe, ledger.overlaps)
        for start, cycle in ledger.cycles.items():
            if base is None or base.cycles.get(start) is not cycle:
                pipe.hset(CYCLES, start.isoformat(), cycle.model_dump_json())
        pipe.incr(VERSION)
        ledger.dirty.clear()
        ledger.base = None

    async def policies(self) -> dict[int, dict[str, Any]]:
        rows = cast(dict[str, str], await self._redis.hgetall(POLICIES))
        return {int(k): json.loads(v) for k, v in rows.items()}

    async def policy_authors(self) -> dict[int, str]:
        rows = cast(dict[str, str], await self._redis.hgetall(AUTHORS))
        return {int(k): v for k, v in rows.items()}

    async def record_bypass(self, attempt: dict[str, Any]) -> None:
        await self._redis.rpush(BYPASSES, json.dumps(attempt))

    async def bypass_attempts(self) -> list[dict[str, Any]]:
        return [json.loads(r) for r in cast(list[str], await self._redis.lrange(BYPASSES, 0, -1))]


def _save_overlaps(pipe: Pipeline, overlaps: Overlaps) -> None:
    for request_id in overlaps.dirty:
        if request_id in overlaps.similar:
            pipe.hset(SIMILAR, request_id, json.dumps([link.to_json() for link in overlaps.similar[request_id]]))
        if request_id in overlaps.merged_into:
            pipe.hset(MERGED, request_id, overlaps.merged_into[request_id])
    overlaps.dirty.clear()


class TitleStore:
    """The objective titles of every published OKR set; a set, once published, never changes."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def learn(self, quarter: str, version: int, titles: dict[str, str]) -> bool:
        """Keep a published set's titles; False when it was known already (a redelivery changes nothing)."""
        return bool(await self._redis.hsetnx(OBJECTIVES, _field(quarter, version), json.dumps(titles)))

    async def version(self) -> int:
        """How many sets are known, as ``Titles.version`` counts them: it grows with every new set."""
        return int(await self._redis.hlen(OBJECTIVES))

    async def load(self) -> Titles:
        rows = cast(dict[str, str], await self._redis.hgetall(OBJECTIVES))
        return Titles({_key(name): json.loads(titles) for name, titles in rows.items()})


def _field(quarter: str, version: int) -> str:
    return f"{quarter}#{version}"


def _key(name: str) -> SetKey:
    quarter, version = name.rsplit("#", 1)
    return quarter, int(version)

"""The pipeline volume test's pieces: its settings, an open-loop sender, and the verdict on what the topics showed.

The sightings are the load bench's watcher's (bench/load/watch.py) and the figures its figures
(bench/load/figures.py), so this test and ``make bench-load`` count lost and duplicated the same way: lost
when an accepted request's decision or its requester's notice never appeared; duplicated when one event
appeared twice (the same CloudEvents id) or one decision was told to its requester twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bench.load.figures import DECISIONS, Door, Percentiles, Pipeline, outstanding
from bench.load.vegeta import Result
from bench.load.watch import Sighting, Watcher
from notifier.threads import SUPERSEDED
from shared.events import ForecastSlipped, NotificationSent, RequestBacklogged, RequestClassified, RequestScheduled
from shared.kafka_auth import KafkaAuth

__all__ = ["Sent", "VolumeSettings", "Verdict", "drain", "judge", "progress", "send_open_loop", "summary"]

logger = logging.getLogger(__name__)

FIRST_DECISIONS = frozenset({RequestScheduled.event_type, RequestBacklogged.event_type})


class VolumeSettings(BaseSettings):
    """PIPELINE_TEST_RATE, PIPELINE_TEST_COUNT, PIPELINE_TEST_DRAIN_S, PIPELINE_TEST_QUIET_S.

    The rate is what a 2-CPU machine sustains with two other test workers beside it: at 15/s every stage keeps
    pace with the POSTs (the last notice some 7 s after the last POST); at 20/s the queue took 40 s to drain.
    Alone, the pipeline keeps up at 25/s and decides about 27 a second at 50/s. Raise it as it gets faster.
    """

    model_config = SettingsConfigDict(env_prefix="PIPELINE_TEST_")
    rate: float = Field(default=15, gt=0)  # POSTs a second, sent on schedule whatever the answers
    count: int = Field(default=2000, ge=1)
    drain_s: float = Field(default=300, gt=0)  # after the last POST, for every request to be decided and told
    quiet_s: float = Field(default=5, ge=0)  # then nothing new for this long: a late repeat would have shown
    # The broker's super user, which tests/infra.py puts in the environment: the watcher reads every topic.
    kafka_admin_password: str | None = Field(default=None, validation_alias="TEST_KAFKA_ADMIN_PASSWORD")

    def kafka_auth(self) -> KafkaAuth:
        return KafkaAuth("admin", self.kafka_admin_password) if self.kafka_admin_password else KafkaAuth()


@dataclass(frozen=True)
class Sent:
    """Every POST as the bench's results (``sent`` in epoch seconds, as record timestamps are), the answers
    that were not 202 with their bodies, and how late the sender was on its own schedule at worst."""

    results: list[Result]
    refusals: list[str]
    late_s: float

    @property
    def ids(self) -> set[str]:
        return {r.request_id for r in self.results if r.request_id is not None}


async def send_open_loop(client: httpx.AsyncClient, url: str, bodies: Sequence[dict[str, Any]], *,
                         rate: float, label: str) -> Sent:
    """POST each body at its slot (``n / rate`` seconds after the start), one task each: a slow answer
    never delays the next send, so a queue in the pipeline shows as latency, not as a lower rate."""
    loop = asyncio.get_running_loop()
    refusals: list[str] = []

    async def post(n: int, body: dict[str, Any]) -> Result:
        sent, began = time.time(), time.perf_counter()
        try:
            try:
                answer = await client.post(url, json=body, headers={"Idempotency-Key": f"{label}-{n}"})
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # A kept-alive connection the server closed as it was reused (on a starved machine the pool's
                # expiry runs late): sent again once, as HTTP clients do; the idempotency key makes it one request.
                answer = await client.post(url, json=body, headers={"Idempotency-Key": f"{label}-{n}"})
        except httpx.HTTPError as error:
            refusals.append(f"#{n}: {error!r}")
            return Result(sent, time.perf_counter() - began, 0, None)
        latency = time.perf_counter() - began
        if answer.status_code != 202:
            refusals.append(f"#{n}: {answer.status_code} {answer.text[:300]}")
            return Result(sent, latency, answer.status_code, None)
        return Result(sent, latency, 202, str(answer.json()["id"]))

    start, late = loop.time() + 0.1, 0.0
    tasks = []
    for n, body in enumerate(bodies):
        wait = start + n / rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        late = max(late, -wait)
        tasks.append(asyncio.create_task(post(n, body)))
    results = await asyncio.gather(*tasks)
    return Sent(sorted(results, key=lambda r: r.sent), refusals, late)


async def drain(watcher: Watcher, ids: set[str], *, deadline: float, quiet_s: float) -> bool:
    """Waits until every accepted request is decided and its requester told (as the bench counts), then
    until nothing new appeared for ``quiet_s`` (a late repeat would be seen); False when ``deadline``
    (``time.monotonic()``) passed before they all were."""
    while outstanding(ids, watcher.sightings):
        watcher.check()
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)
    seen, since = len(watcher.sightings), time.monotonic()
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if len(watcher.sightings) != seen:
            seen, since = len(watcher.sightings), time.monotonic()
    watcher.check()
    return True


async def progress(watcher: Watcher, every_s: float = 10) -> None:
    """Logs how many requests each stage has reached so far: a gap that widens is a pipeline falling behind."""
    started = time.monotonic()
    while True:
        await asyncio.sleep(every_s)
        stages: dict[str, set[str]] = {"classified": set(), "decided": set(), "told": set()}
        for s in watcher.sightings:
            if s.type == RequestClassified.event_type:
                stages["classified"].add(s.request_id)
            elif s.type in DECISIONS:
                stages["decided"].add(s.request_id)
            elif _is_requester_notice(s):
                stages["told"].add(s.request_id)
        logger.info("pipeline volume at %.0f s: %s", time.monotonic() - started,
                    ", ".join(f"{name} {len(found)}" for name, found in stages.items()))


@dataclass(frozen=True)
class Verdict:
    """What went wrong, request by request (each map empty when all is well)."""

    classified: dict[str, int]  # request → its classifications, when not exactly one
    first_decision: dict[str, str]  # request → its first decision's type, when neither scheduled nor backlogged
    told: dict[str, int]  # request → its requester's notices of its first decision, when not exactly one
    not_sent: dict[str, str]  # request → the status of that notice, when not "sent"

    def problems(self, figures: Pipeline, limit: int = 10) -> list[str]:
        found = [f"{len(v)} {name}, e.g. {dict(list(v.items())[:limit])}" for name, v in (
            ("not classified exactly once", self.classified), ("first decided otherwise", self.first_decision),
            ("not told of their first decision exactly once", self.told),
            ("told but not sent", self.not_sent)) if v]
        found += [f"{name}: {n}" for name, n in (
            ("lost decisions", figures.lost_decision), ("lost notices", figures.lost_notice),
            ("duplicated events", figures.duplicated_events), ("duplicated notices", figures.duplicated_notices),
            ("replayed answers", figures.replayed_answers)) if n]
        return found


# What may replace a decision's notice before it goes: another decision, or a slipped forecast.
_LATER_NEWS = DECISIONS | {ForecastSlipped.event_type}


def _is_requester_notice(s: Sighting) -> bool:
    return s.type == NotificationSent.event_type and s.audience == "requester"


def judge(ids: set[str], sightings: Sequence[Sighting]) -> Verdict:
    """Each request classified once, first decided scheduled or backlogged, its requester told of that
    decision once (one ``notification.sent``, whatever record repeats), and that notice sent, or replaced
    before it went by a later notice about the request (its start moved again) that was sent."""
    mine = [s for s in sightings if s.request_id in ids]
    classified = Counter(r for r, _ in {(s.request_id, s.event_id) for s in mine
                                        if s.type == RequestClassified.event_type})
    first: dict[str, Sighting] = {}
    for s in mine:
        if s.type in DECISIONS and (s.request_id not in first or s.at < first[s.request_id].at):
            first[s.request_id] = s
    notices: dict[str, dict[str, Sighting]] = {}
    sent_later: set[str] = set()
    for s in mine:
        decision = first.get(s.request_id)
        if decision is not None and _is_requester_notice(s) and s.about_id == decision.event_id:
            notices.setdefault(s.request_id, {})[s.event_id] = s
        elif _is_requester_notice(s) and s.status == "sent" and s.about_type in _LATER_NEWS:
            sent_later.add(s.request_id)
    return Verdict(
        classified={i: classified[i] for i in sorted(ids) if classified[i] != 1},
        first_decision={i: first[i].type if i in first else "none" for i in sorted(ids)
                        if i not in first or first[i].type not in FIRST_DECISIONS},
        told={i: len(notices.get(i, {})) for i in sorted(ids) if len(notices.get(i, {})) != 1},
        not_sent={i: f"{s.status}: {s.detail}" for i, told in notices.items() for s in told.values()
                  if s.status != "sent" and not (s.detail == SUPERSEDED and i in sent_later)},
    )


def _ms(p: Percentiles) -> str:
    return "/".join("-" if v is None else f"{v:.0f}" for v in (p.p50, p.p90, p.p99))


def summary(door: Door, figures: Pipeline, sent: Sent, *, drained: bool, wall_s: float) -> str:
    """One line of the run's figures; latencies are p50/p90/p99 in ms from the POST."""
    return (f"{door.sent} POSTs offered at {door.offered:g}/s (sender at worst {sent.late_s * 1000:.0f} ms late), "
            f"{door.accepted} accepted at {door.achieved:.1f}/s, POST {_ms(door.latency)} ms; "
            f"to classified {_ms(figures.to_classified)}, to decision {_ms(figures.to_decision)}, "
            f"to requester's notice {_ms(figures.to_notice)} ms; decisions {figures.decisions_per_s or 0:.1f}/s; "
            f"drained {'' if drained else 'NOT '}{figures.drain_s or 0:.1f} s after the last POST; "
            f"lost {figures.lost_decision} decisions, {figures.lost_notice} notices; duplicated "
            f"{figures.duplicated_events} events, {figures.duplicated_notices} notices; {wall_s:.0f} s in all")

"""Every change to the board is one transaction: fold the change, replan, decide, save, announce."""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from redis.asyncio.client import Pipeline

from capacity.cycles import held_now
from capacity.decisions import settled
from capacity.domain import Ledger
from capacity.events import fold, read
from capacity.flow.service import FlowService
from capacity.planning import Plan, cycle_start, place_new, plan
from capacity.store import LedgerStore
from shared.envelope import CloudEvent, derived_id, envelope
from shared.events import EventData
from shared.faults import TRANSIENT
from shared.messaging import Publisher
from shared.outbox import Outcomes

log = logging.getLogger(__name__)

# A change reads the ledger and plan under the planning lock; one that must read more of the store there
# (the flow check reads the history) is a coroutine.
Change = Callable[[Ledger, Plan], Sequence[EventData] | Awaitable[Sequence[EventData]]]


class CapacityService:
    def __init__(self, store: LedgerStore, outcomes: Outcomes, publisher: Publisher, *, source: str,
                 heat_shield: str, today: Callable[[], date] = date.today, flow: FlowService | None = None) -> None:
        self.store = store
        self.flow = flow  # ranges on decisions, slips and SLE breaches, and the flow history (capacity.flow)
        self._outcomes = outcomes
        self._publisher = publisher
        self._source = source
        self._heat_shield = heat_shield
        self._today = today
        # This instance's copy of the ledger, the version it was saved at, and its plan.
        self._cached: tuple[int, Ledger, Plan] | None = None

    def today(self) -> date:
        """The day this service plans for (a test may set it)."""
        return self._today()

    async def current(self) -> tuple[Ledger, Plan]:
        """The ledger and its plan; read from Redis only when another instance saved since."""
        version = await self.store.version()
        if self._cached is not None and self._cached[0] == version:
            _, ledger, planned = self._cached
            if planned.current_cycle == cycle_start(self._today(), ledger.policy):
                return ledger.copy(), planned
        loaded = await self.store.load()
        planned = plan(loaded.live_items(), loaded.policy, self._today())
        self._cached = (version, loaded, planned)
        return loaded.copy(), planned

    async def apply(self, change: Change, *, cause_id: str | None = None, new: str | None = None
                    ) -> Sequence[CloudEvent]:
        """Run ``change`` against the current ledger and plan; it returns the decisions it made
        (folded in, then announced). A consumed event's id as ``cause_id`` makes this idempotent."""
        return await self._transact(cause_id or str(uuid.uuid4()), [(change, new)])

    async def apply_run(self, events: Sequence[CloudEvent]) -> Sequence[CloudEvent]:
        """A run of consumed changes of the board (requests classified, withdrawn, merged) in one transaction:
        each folded in its order, then one plan and one set of decisions for all of them, so a burst of
        arrivals costs one replan, one save and one announcement of each moved card instead of one each.

        Idempotent per event: events handled before are left out (what they produced is sent again if it
        is still pending); the run's decisions are the outcome of its last new event, the others' outcome
        is empty, all in the same transaction."""
        unique = list({event.id: event for event in events}.values())
        produced: Sequence[CloudEvent] = []
        async with self.store.lock():
            seen = await self._outcomes.seen([event.id for event in unique])
            fresh = [event for event in unique if event.id not in seen]
            if fresh:
                steps = [(folding(event), event.subject if event.type == "request.classified" else None)
                         for event in fresh]
                produced = await self._commit(fresh[-1].id, steps, along=[event.id for event in fresh[:-1]])
        # Handled before: their outcomes go out too if they are still pending, in the order they committed.
        again = await self._outcomes.outcomes([event.id for event in unique if event.id in seen])
        await self._deliver_all([*again, *([(fresh[-1].id, produced)] if fresh else [])])
        return produced

    async def _transact(self, cause: str, steps: Sequence[tuple[Change, str | None]]) -> Sequence[CloudEvent]:
        async with self.store.lock():
            produced = await self._commit(cause, steps)
        await self._deliver(cause, produced)
        return produced

    async def _deliver(self, cause: str, produced: Sequence[CloudEvent]) -> None:
        await self._deliver_all([(cause, produced)])

    async def _deliver_all(self, outcomes: Sequence[tuple[str, Sequence[CloudEvent]]]) -> None:
        try:
            await self._outcomes.deliver_all(outcomes, self._publisher)
        except TRANSIENT as exc:  # the change is made and kept in the outbox, which re-sends it
            log.warning("decisions of %s not published yet (%r); the outbox will send them",
                        ", ".join(cause for cause, _ in outcomes), exc)

    async def _commit(self, cause: str, steps: Sequence[tuple[Change, str | None]], *,
                      along: Sequence[str] = ()) -> Sequence[CloudEvent]:
        """Fold, plan, decide and save in one transaction, under the store's lock (held by the caller)."""
        async def work(pipe: Pipeline) -> Sequence[CloudEvent]:
            ledger, before = await self.current()
            made: list[EventData] = []
            placed: list[str] = []
            for change, new in steps:
                if new is not None and new not in ledger.cards:
                    placed.append(new)
                known = ledger.live_items() if len(steps) == 1 else None
                changed = change(ledger, before)
                for data in await changed if inspect.isawaitable(changed) else changed:
                    fold(ledger, data)
                    made.append(data)
            news = [new for new in placed if new in ledger.cards]
            if known is not None and len(news) == 1:
                # Exact, and fast when the new request queues last; otherwise a full replan.
                after = place_new(before, known, ledger.cards[news[0]].item, ledger.policy, self._today())
            else:
                after = plan(ledger.live_items(), ledger.policy, self._today())
            announce = [new for _, new in steps if new is not None]
            decided, after = settled(ledger, after, self._replan, new=announce, heat_shield=self._heat_shield)
            if self.flow is not None:
                decided = await self.flow.decide(ledger, after, decided, made)
            for data in decided:
                fold(ledger, data)
            for data in held_now(ledger, after):  # last, so the decisions before keep their ids
                fold(ledger, data)
                decided.append(data)
            told = [*made, *decided]
            produced = [envelope(data, source=self._source,
                                 event_id=derived_id(cause, str(i), data.event_type, data.subject()))
                        for i, data in enumerate(told)]
            if self.flow is not None:
                await self.flow.record(pipe, ledger, [(data, e.time) for data, e in zip(told, produced, strict=True)])
            self.store.save(pipe, ledger)
            saved.append((ledger, after))
            return produced

        saved: list[tuple[Ledger, Plan]] = []
        produced = await self._outcomes.once(cause, work, along=along)
        if saved:  # our save is the newest version: keep it, and its plan
            ledger, after = saved[0]
            self._cached = (await self.store.version(), ledger, after)
        return produced

    def _replan(self, ledger: Ledger) -> Plan:
        return plan(ledger.live_items(), ledger.policy, self._today())

    async def new_cycle(self) -> Sequence[CloudEvent]:
        """Replan once per cycle, so work whose cycle has come is committed without waiting for news."""
        ledger = await self.store.load()
        start = cycle_start(self._today(), ledger.policy)
        return await self.apply(lambda _, __: [], cause_id=derived_id("cycle", start.isoformat()))


def folding(event: CloudEvent) -> Change:
    """The change a consumed event makes: folded into the ledger as it is, deciding nothing itself."""
    data = read(event)

    def change(ledger: Ledger, _: Plan) -> list[EventData]:
        if data is not None:
            fold(ledger, data)
        return []

    return change

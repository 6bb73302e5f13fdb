"""What every service is made of: settings, Redis, a Kafka broker, and a FastAPI app.

``build_runtime`` creates the clients (nothing connects until the app starts);
``subscribe`` routes topics to handlers with the delivery guarantees of
``shared.messaging``; ``web_app`` starts and stops the broker in the lifespan.
Every service gets the same view from outside (``shared.observability``): ``/metrics``,
a trace per request across Kafka, JSON logs with an access log, and ``/asyncapi``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI
from faststream import AckPolicy, Context
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from opentelemetry import trace
from prometheus_client.core import Metric
from redis.asyncio import Redis

from shared.access import KeyRegistry
from shared.auth import Access
from shared.batches import BatchConsumer, BatchHandler
from shared.cancelling import stop_if_cancelled
from shared.commits import Commits
from shared.dead_letters import DeadLetters
from shared.infra import build_broker, connect_redis, ensure_topics
from shared.keyfeed import KeyFeed
from shared.messaging import EventConsumer, EventPublisher, Handler, Record
from shared.observability.asyncapi import asyncapi_router
from shared.observability.http import AccessLog
from shared.observability.logs import configure_logging as configure_json_logging
from shared.observability.metrics import LagProbe, ServiceMetrics, gauge, metrics_router
from shared.observability.tracing import Tracing
from shared.openapi import document_problems
from shared.ops import ops_router
from shared.outbox import Outcomes
from shared.problems import BodySizeLimit, install_problem_handlers
from shared.ratelimit import RateLimiter
from shared.settings import ServiceSettings
from shared.topics import Topics

__all__ = ["Runtime", "build_runtime", "configure_logging", "serve", "stopping", "subscribe", "web_app"]


@dataclass(frozen=True)
class Runtime:
    name: str
    settings: ServiceSettings
    redis: Redis
    broker: KafkaBroker
    topics: Topics
    publisher: EventPublisher
    outcomes: Outcomes
    dead_letters: DeadLetters
    access: Access
    keyfeed: KeyFeed
    metrics: ServiceMetrics
    tracing: Tracing
    subscribed: list[str] = field(default_factory=list)  # the topics ``subscribe`` routed, for the lag probe
    commits: list[Commits] = field(default_factory=list)  # each subscription's, flushed on an interval


def configure_logging(name: str, settings: ServiceSettings) -> None:
    configure_json_logging(name, settings.log_level, json=settings.log_format == "json")


def build_runtime(name: str, settings: ServiceSettings) -> Runtime:
    metrics = ServiceMetrics(name)
    tracing = Tracing(name, settings.tracing_exporter, otlp_endpoint=settings.tracing_otlp_endpoint,
                      sample_ratio=settings.tracing_sample_ratio)
    redis = connect_redis(settings.redis_url)
    tracing.instrument_redis(redis)
    broker = build_broker(settings, name, middlewares=[tracing.kafka_middleware(), metrics.kafka_middleware()])
    topics = Topics(settings.topic_prefix)
    registry = KeyRegistry(settings.api_keys, epoch=datetime.now(UTC))
    outcomes = Outcomes(redis, name)
    dead_letters = DeadLetters(redis, broker, topics, name)

    async def backlog() -> list[Metric]:
        outbox, letters = await outcomes.depth(), await dead_letters.count()
        return [gauge("governance_outbox_depth", "Outcomes committed but not yet known to be on Kafka",
                      samples=[((), outbox)]),
                gauge("governance_dead_letters_stored", "Dead letters kept for an operator (replayed ones too)",
                      samples=[((), letters)])]

    metrics.watch("outbox", backlog)
    return Runtime(
        name=name, settings=settings, redis=redis, broker=broker, topics=topics,
        publisher=EventPublisher(broker, topics, settings.publish_timeout_ms / 1000), outcomes=outcomes,
        dead_letters=dead_letters,
        access=Access(registry, RateLimiter(redis, name), settings.rate_limit_per_minute),
        keyfeed=KeyFeed(registry, settings.kafka_bootstrap, topics.access_keys, settings.kafka_auth()),
        metrics=metrics, tracing=tracing,
    )


class _AwaitedContext(type(Context())):  # type: ignore[misc]
    """FastStream's ``Context`` field, resolved on the event loop. fast_depends runs a field whose ``use`` is
    not a coroutine function in a worker thread, and FastStream's is not: every consumed batch paid a thread
    hand-off (0.66 ms a message against 0.16 in FastStream's test broker). The lookup itself never blocks."""

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().use(**kwargs)
        return found


def subscribe(runtime: Runtime, topics: list[str], routes: Mapping[str, Handler],
              batch_routes: Mapping[str, BatchHandler] | None = None) -> None:
    """Consume ``topics`` in the service's consumer group, in batches (``shared.batches``); a batch's
    offsets are committed only once every record in it was handled, ignored or dead-lettered, on an
    interval (``shared.commits``)."""
    settings = runtime.settings
    consumer = EventConsumer(runtime.name, routes, runtime.dead_letters,
                             max_attempts=settings.handler_max_attempts,
                             backoff_s=settings.handler_backoff_s,
                             backoff_max_s=settings.handler_backoff_max_s,
                             metrics=runtime.metrics.consumer)
    batches = BatchConsumer(consumer, batch_routes=batch_routes, concurrency=settings.consume_concurrency,
                            tracer=runtime.tracing.tracer, backoff_s=settings.handler_backoff_s,
                            backoff_max_s=settings.handler_backoff_max_s)
    runtime.subscribed.extend(topics)
    commits = Commits(runtime.name, settings.consume_commit_interval_ms / 1000)
    runtime.commits.append(commits)

    async def on_batch(msg: Annotated[KafkaMessage, _AwaitedContext("message")]) -> None:
        raw = msg.raw_message
        records = [Record.of(r) for r in (raw if isinstance(raw, tuple) else (raw,))]
        await batches(records)  # returns once every record was handled or dead-lettered (raises nothing else)
        await commits.handled(msg.consumer, records)

    # AckPolicy.MANUAL: FastStream commits nothing; ``commits`` commits what was handled.
    runtime.broker.subscriber(*topics, runtime.topics.replays(runtime.name), group_id=runtime.name, batch=True,
                              max_records=settings.consume_batch_max, batch_timeout_ms=settings.consume_wait_ms,
                              fetch_min_bytes=settings.consume_fetch_min_bytes,
                              fetch_max_wait_ms=settings.consume_fetch_wait_ms, listener=commits,
                              ack_policy=AckPolicy.MANUAL, auto_offset_reset="earliest")(on_batch)


Periodic = tuple[float, Callable[[], Awaitable[object]]]


async def _every(name: str, interval_s: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run a reconciling job forever; a failed run is logged and tried again next time."""
    log = logging.getLogger(name)
    while True:
        await asyncio.sleep(interval_s)
        try:
            await job()
        except Exception:  # a reconciler's next run is its retry; the failure stays visible in the log
            log.exception("periodic job %s failed; trying again in %.0fs", job.__name__, interval_s)
        stop_if_cancelled()  # the job may have swallowed a shutdown's cancellation: this loop still ends


def settle_heap() -> None:
    """Collect start-up's garbage, then leave what start-up built (modules, models, schemas, routes: some
    100,000 objects) out of every later collection (``gc.freeze``). Each full collection would otherwise
    walk them all again, 40-60 ms with the event loop stopped, which lands on whoever's request was waiting.
    Once a process: a test process starts many apps, and what its tests built is not start-up's."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def _relay(runtime: Runtime) -> Callable[[], Awaitable[int]]:
    async def republish_pending() -> int:
        return await runtime.outcomes.republish_pending(runtime.publisher)

    return republish_pending


def web_app(runtime: Runtime, routers: list[APIRouter], *, title: str, description: str,
            periodic: Sequence[Periodic] = (), startup: Sequence[Callable[[], Awaitable[object]]] = ()) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for prepare in startup:  # before consuming or serving: e.g. loading a model
            await prepare()
        await ensure_topics(runtime.settings, runtime.topics, owner=runtime.name)
        await runtime.keyfeed.start()
        await runtime.broker.start()
        relay = (runtime.settings.outbox_relay_s, _relay(runtime))
        lag = LagProbe(runtime.settings.kafka_bootstrap, runtime.name, lambda: runtime.subscribed,
                       runtime.metrics.lag, runtime.settings.publish_timeout_ms,
                       runtime.settings.kafka_auth().client_options())
        jobs = [relay, *periodic, *([(runtime.settings.lag_probe_s, lag.probe)] if runtime.subscribed else []),
                *[(c.interval_s, c.flush) for c in runtime.commits if c.interval_s > 0]]
        tasks = [asyncio.create_task(_every(runtime.name, interval, job)) for interval, job in jobs]
        settle_heap()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for commits in runtime.commits:  # what was handled; a batch still in flight is handled again
                await commits.flush()
            await lag.close()
            await runtime.broker.stop()
            await runtime.keyfeed.stop()
            await runtime.redis.aclose()
            runtime.tracing.shutdown()

    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan)
    install_problem_handlers(app)
    document_problems(app)
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(AccessLog, metrics=runtime.metrics)
    runtime.tracing.instrument_app(app)
    app.state.runtime = runtime
    app.include_router(ops_router(runtime.redis, runtime.broker, runtime.dead_letters, runtime.access,
                                  runtime.keyfeed.following))
    app.include_router(metrics_router(runtime.metrics))
    app.include_router(asyncapi_router(runtime.settings.kafka_bootstrap, runtime.settings.topic_prefix))
    for router in routers:
        app.include_router(router)
    return app


def stopping(app: FastAPI) -> bool:
    """True once the process began to shut down. Endless responses (event streams) end on it: uvicorn
    waits for open connections to close before it shuts the app down, and sends them no disconnect."""
    return bool(getattr(app.state, "stopping", False))


def serve(name: str, app: FastAPI, settings: ServiceSettings) -> None:
    """Run one service process (``python -m <service>``)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            app.state.stopping = True
            super().handle_exit(sig, frame)

    configure_logging(name, settings)
    runtime: Runtime = app.state.runtime
    trace.set_tracer_provider(runtime.tracing.provider)  # for any library that asks the global provider
    # The access log is ours (``AccessLog``, JSON); uvicorn's loggers go through the same JSON handler.
    Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                          access_log=False, log_config=None)).run()

"""Prometheus metrics of one service, in a registry of its own, exposed at ``GET /metrics``.

Families (besides FastStream's ``faststream_*`` per topic, from its Prometheus middleware):

- ``http_requests_total{method,route,status}``, ``http_request_duration_seconds{method,route}``
- ``governance_events_handled_total{topic,type,outcome}`` (handled, ignored, dead_lettered),
  ``governance_event_handling_seconds{topic,type}``, ``governance_event_retries_total{topic,type,fault}``
  (transient, failure), ``governance_dead_letters_total{topic}``
- ``governance_consumer_lag{group,topic,partition}``: records not yet committed by the group
- ``governance_outbox_depth``, ``governance_dead_letters_stored``, and each service's own gauges,
  read from the service's state when Prometheus scrapes (``StateGauges``)

Request ids never become labels: every label has a small, known set of values.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Response
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["ConsumerMetrics", "LagProbe", "Reader", "ServiceMetrics", "StateGauges", "gauge", "metrics_router"]

log = logging.getLogger(__name__)

_HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def gauge(name: str, documentation: str, labels: Sequence[str] = (),
          samples: Iterable[tuple[Sequence[str], float]] = ()) -> GaugeMetricFamily:
    """A gauge family for a ``StateGauges`` reader: ``samples`` are (label values, value)."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for values, value in samples:
        family.add_metric(list(values), value)
    return family


Reader = Callable[[], Awaitable[Iterable[Metric]]]


class StateGauges(Collector):
    """Gauges read from a service's state (Redis, memory) each time Prometheus scrapes.

    Collectors are synchronous and the state is behind an async client, so ``/metrics`` awaits
    ``refresh`` first and ``collect`` yields what it read. A read that fails yields nothing (no stale
    numbers) and sets ``governance_state_up{reader}`` to 0.
    """

    def __init__(self) -> None:
        self._readers: dict[str, Reader] = {}
        self._read: dict[str, list[Metric]] = {}
        self._up: dict[str, bool] = {}

    def add(self, name: str, reader: Reader) -> None:
        self._readers[name] = reader

    async def refresh(self, timeout_s: float = 5.0) -> None:
        for name, reader in self._readers.items():
            try:
                self._read[name] = list(await asyncio.wait_for(reader(), timeout_s))
                self._up[name] = True
            except Exception as exc:  # a scrape must answer; the failure is the up gauge and the log
                log.warning("metrics reader %s failed: %r", name, exc)
                self._read[name] = []
                self._up[name] = False

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration: the families come from the readers

    def collect(self) -> Iterable[Metric]:
        yield gauge("governance_state_up", "1 when the last scrape could read this state, else 0", ["reader"],
                    [((name,), float(ok)) for name, ok in self._up.items()])
        for families in self._read.values():
            yield from families


class ConsumerMetrics:
    """What the event consumer does with each record: handled, ignored, retried, dead-lettered."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.handled = Counter("governance_events_handled", "Consumed events by topic, type and outcome "
                               "(handled, ignored: no handler for the type, dead_lettered)",
                               ["topic", "type", "outcome"], registry=registry)
        self.seconds = Histogram("governance_event_handling_seconds",
                                 "Time from first attempt to handled or dead-lettered, retries included",
                                 ["topic", "type"], registry=registry, buckets=_HANDLING_BUCKETS)
        self.retries = Counter("governance_event_retries", "Attempts that failed and were retried, by fault "
                               "(transient: Redis or Kafka away; failure: the handler raised)",
                               ["topic", "type", "fault"], registry=registry)
        self.dead_letters = Counter("governance_dead_letters", "Events given up on and put on the dead-letter "
                                    "topic, by the topic they came from", ["topic"], registry=registry)


class ServiceMetrics:
    """The registry of one service and the families every service has."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter("http_requests", "HTTP requests by method, route template and status",
                                     ["method", "route", "status"], registry=self.registry)
        self.http_seconds = Histogram("http_request_duration_seconds", "HTTP request latency by route template",
                                      ["method", "route"], registry=self.registry)
        self.consumer = ConsumerMetrics(self.registry)
        self.lag = Gauge("governance_consumer_lag", "Records on a partition that the consumer group has not "
                         "committed yet (end offset minus committed offset)", ["group", "topic", "partition"],
                         registry=self.registry)
        self.state = StateGauges()
        self.registry.register(self.state)

    def kafka_middleware(self) -> KafkaPrometheusMiddleware:
        """FastStream's middleware: ``faststream_*`` families per topic, received and published."""
        return KafkaPrometheusMiddleware(registry=self.registry, app_name=self.service)

    def watch(self, name: str, reader: Reader) -> None:
        """Add gauges that ``reader`` reads from the service's state at each scrape."""
        self.state.add(name, reader)


class LagProbe:
    """Consumer lag of the service's group: end offsets against committed offsets, per partition.

    It asks the broker as an operator's tool would (the group's committed offsets, the partitions'
    end offsets), so it counts every partition of the group, not only those this instance holds.
    """

    def __init__(self, bootstrap: str, group: str, topics: Callable[[], Sequence[str]], lag: Gauge,
                 timeout_ms: int, client_options: Mapping[str, Any] | None = None) -> None:
        self._bootstrap = bootstrap
        self._options = dict(client_options or {})
        self._group = group
        self._topics = topics
        self._lag = lag
        self._timeout_ms = timeout_ms
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    async def probe(self) -> dict[tuple[str, int], int]:
        admin, offsets = await self._clients()
        topics = set(self._topics())
        committed: dict[Any, Any] = await admin.list_consumer_group_offsets(self._group)
        partitions = [tp for tp in committed if tp.topic in topics]
        ends: dict[Any, int] = await offsets.end_offsets(partitions) if partitions else {}
        found = {}
        for tp in partitions:
            done = committed[tp].offset
            lag = max(0, ends[tp] - done) if done >= 0 else ends[tp]
            self._lag.labels(self._group, tp.topic, str(tp.partition)).set(lag)
            found[(tp.topic, tp.partition)] = lag
        return found

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._offsets is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=self._timeout_ms,
                                        **self._options)
            offsets = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                       request_timeout_ms=self._timeout_ms, **self._options)
            try:
                await admin.start()
                await offsets.start()
            except BaseException:  # close what started, or a failing broker leaks a client every probe
                await offsets.stop()
                await admin.close()
                raise
            self._admin, self._offsets = admin, offsets
        return self._admin, self._offsets

    async def close(self) -> None:
        if self._offsets is not None:
            await self._offsets.stop()
        if self._admin is not None:
            await self._admin.close()
        self._admin = self._offsets = None



def metrics_router(metrics: ServiceMetrics) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        """Prometheus text format; the state gauges are read now."""
        await metrics.state.refresh()
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router

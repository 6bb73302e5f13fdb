"""OpenTelemetry for one service: a tracer provider whose exporter is configuration, the
instrumentations (FastAPI, Redis, httpx, FastStream's Kafka middleware), and the W3C trace context
carried where no library carries it (a job parked in Redis and sent later).

A POST starts a trace, or continues the caller's ``traceparent``. FastStream's
``KafkaTelemetryMiddleware`` writes ``traceparent`` into every Kafka record's headers and
continues it in the consumer, so one request is one trace through intake, classifier, capacity
and notifier; the notifier parks each send in its schedule with the context it was scheduled in
(``TraceCarrier``); the httpx instrumentation puts ``traceparent`` on the webhook it posts, and
the email channel's SMTP send is a span whose ``traceparent`` the mail carries as a header.

Exporters: ``none`` (spans are not recorded; an incoming ``traceparent`` still travels on),
``otlp`` (OTLP/HTTP protobuf, batched), ``console`` (for a look by hand), ``memory`` (tests read
``memory_exporter()``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import httpx
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from redis.asyncio import Redis

if TYPE_CHECKING:
    from fastapi import FastAPI
    from redis.asyncio.client import Pipeline

__all__ = ["Exporter", "TraceCarrier", "Tracing", "continued", "current_ids", "memory_exporter", "traceparent"]

Exporter = Literal["none", "otlp", "console", "memory"]

_PROPAGATOR = TraceContextTextMapPropagator()
_MEMORY = InMemorySpanExporter()
# Health checks and scrapes would be most of the spans and tell nothing.
_UNTRACED_URLS = "healthz,readyz,metrics,asyncapi"


def memory_exporter() -> InMemorySpanExporter:
    """The process-wide in-memory exporter behind ``exporter="memory"`` (tests)."""
    return _MEMORY


class Tracing:
    """The tracer provider of one service and the instrumentations that use it."""

    def __init__(self, service: str, exporter: Exporter, *, otlp_endpoint: str | None = None,
                 sample_ratio: float = 1.0) -> None:
        self.service = service
        self.enabled = exporter != "none"
        self._exporter = exporter
        self.provider: trace.TracerProvider
        if self.enabled:
            sdk = TracerProvider(resource=Resource.create({"service.name": service}),
                                 sampler=ParentBased(_NoLoneClients(TraceIdRatioBased(sample_ratio))))
            sdk.add_span_processor(_processor(exporter, otlp_endpoint))
            self.provider = sdk
        else:
            self.provider = trace.NoOpTracerProvider()
        self.tracer = self.provider.get_tracer(f"governance.{service}")

    def kafka_middleware(self) -> KafkaTelemetryMiddleware:
        """FastStream's middleware: a span per publish and per consumed record, ``traceparent`` in headers."""
        return KafkaTelemetryMiddleware(tracer_provider=self.provider, include_messages_counters=False)

    def instrument_app(self, app: FastAPI) -> None:
        FastAPIInstrumentor.instrument_app(app, tracer_provider=self.provider, excluded_urls=_UNTRACED_URLS,
                                           exclude_spans=["receive", "send"])

    def instrument_redis(self, client: Redis) -> None:
        if self.enabled:
            RedisInstrumentor.instrument_client(client, tracer_provider=self.provider)

    def instrument_httpx(self, client: httpx.AsyncClient) -> None:
        """Spans for the client's requests, and ``traceparent`` on each (webhooks carry the trace on). A span
        keeps only the origin of the URL it posted to (``_origin_only``)."""
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self.provider, request_hook=_origin_only)

    def shutdown(self) -> None:
        """Export what is still buffered (the in-memory exporter is the process's: it stays open)."""
        if isinstance(self.provider, TracerProvider):
            self.provider.force_flush()
            if self._exporter != "memory":
                self.provider.shutdown()


_URL_ATTRIBUTES = ("http.url", "url.full")  # the old and the stable HTTP conventions


async def _origin_only(span: trace.Span, request: RequestInfo) -> None:
    """The URL a span records, cut to scheme, host and port: a Slack incoming webhook's path is its secret,
    and a subscriber's path or query may hold one too. (The instrumentation redacts only user and password.)"""
    recorded = getattr(span, "attributes", None) or {}
    url = httpx.URL(str(request.url))
    for name in _URL_ATTRIBUTES:
        if name in recorded:
            span.set_attribute(name, f"{url.scheme}://{url.netloc.decode('ascii')}/")


class _NoLoneClients(Sampler):
    """Roots are sampled at the ratio, except client calls outside any trace (a background job's poll of
    Redis): one trace per poll would be most of the spans and tell nothing."""

    def __init__(self, ratio: Sampler) -> None:
        self._ratio = ratio

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: trace.SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[trace.Link] | None = None, trace_state: trace.TraceState | None = None,
                      ) -> SamplingResult:
        if kind is trace.SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"NoLoneClients({self._ratio.get_description()})"


def _processor(exporter: Exporter, otlp_endpoint: str | None) -> SpanProcessor:
    if exporter == "memory":
        return SimpleSpanProcessor(_MEMORY)
    if exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter())
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint))


def traceparent(span: trace.Span | None = None) -> dict[str, str]:
    """The W3C trace context of ``span``, else the current one, as headers (empty outside any trace)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span) if span is not None else None)
    return carrier


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, hex, or None outside any trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


@dataclass(frozen=True)
class TraceCarrier:
    """The trace context of work parked in Redis, so whoever picks the work up continues the trace.

    ``queue`` writes the current context under the job's name (the first one wins: a retry scheduled
    later keeps the trace of the event that caused the job); whoever claims the job reads ``prefix`` + its
    name back for ``continued`` (the notifier's claim does, in the same script).
    """

    prefix: str
    ttl_s: int = 7 * 24 * 3600

    def queue(self, pipe: Pipeline, job: str, header: str | None = None) -> None:
        """Park ``header``, else the current context, for ``job``."""
        header = header or traceparent().get("traceparent")
        if header:
            pipe.set(self.prefix + job, header, ex=self.ttl_s, nx=True)


def extract(header: str) -> trace.SpanContext:
    """The span context a ``traceparent`` names (invalid if it names none)."""
    return trace.get_current_span(_PROPAGATOR.extract({"traceparent": header})).get_span_context()


@contextmanager
def continued(tracer: trace.Tracer, header: str | None, name: str, *,
              kind: trace.SpanKind = trace.SpanKind.PRODUCER, links: Sequence[trace.Link] = (),
              attributes: Mapping[str, str] | None = None) -> Iterator[trace.Span]:
    """A span in the trace of ``header`` (a ``traceparent``), or a new trace when there is none."""
    parent = _PROPAGATOR.extract({"traceparent": header}) if header else None
    with tracer.start_as_current_span(name, context=parent, kind=kind, links=links,
                                      attributes=dict(attributes or {})) as span:
        yield span

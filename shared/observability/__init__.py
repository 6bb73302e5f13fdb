"""What an operator sees of a service: Prometheus metrics, OpenTelemetry traces, JSON logs, and the
event contract as an AsyncAPI document.

- ``metrics``: one registry per service, the consumer's counters, consumer lag, and collectors that
  read a service's state when Prometheus scrapes ``/metrics``.
- ``http``: the ASGI middleware that measures every HTTP request and writes the access log.
- ``tracing``: the tracer provider (exporter: OTLP, none, or memory in tests), the instrumentations,
  and the W3C trace context carried across Kafka, Redis schedules and webhooks.
- ``logs``: JSON lines with service, level, event id, request id and trace id; secrets masked.
- ``asyncapi``: the AsyncAPI 3 document of ``shared.events`` and ``shared.topics``, and its page.
"""

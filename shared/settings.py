"""Settings common to every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from shared.access import KeySpec
from shared.kafka_auth import KafkaAuth

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    kafka_bootstrap: str = "127.0.0.1:9092"
    # The service's own Kafka user (SASL/SCRAM-SHA-256); ACLs let it write only the topics it owns.
    # Without one the clients speak plaintext, to a broker that does not authenticate.
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    host: str = "127.0.0.1"
    port: int = 8000
    topic_prefix: str = "governance"
    topic_partitions: int = Field(default=6, ge=1)
    # One machine: 1 and 1. A production cluster: 3 replicas and min.insync.replicas 2, so acks=all
    # means two brokers have every event.
    topic_replication: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int = Field(default=1, ge=1)
    # Kafka is the source of truth: a topic this service owns that would delete events refuses the start.
    allow_finite_retention: bool = False
    publish_timeout_ms: int = Field(default=5_000, ge=500)
    # Keys provisioned at start (CI, demos, deployments): secret -> {tool, role, lanes, teams}.
    # Secrets: no default keys in code. Keys made through the keys API live on the keys topic.
    api_keys: dict[str, KeySpec] = Field(default_factory=dict)

    @field_validator("api_keys")
    @classmethod
    def _keys_are_sound(cls, keys: dict[str, KeySpec]) -> dict[str, KeySpec]:
        for spec in keys.values():
            if spec.submit_only and (refused := spec.refusal()) is not None:
                raise ValueError(f"key of tool {spec.tool!r}: {refused}")
        return keys
    rate_limit_per_minute: int = Field(default=600, ge=1)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    handler_max_attempts: int = Field(default=5, ge=1)
    handler_backoff_s: float = Field(default=0.2, gt=0)
    handler_backoff_max_s: float = Field(default=30.0, gt=0)
    outbox_relay_s: float = Field(default=5.0, gt=0)
    # Consuming: up to this many records per batch, waiting at most this long for a batch to fill when the
    # log is quiet; records of different requests are handled this many at once. Handled offsets are
    # committed this often (``shared.commits``; 0: after every batch).
    consume_batch_max: int = Field(default=200, ge=1)
    consume_wait_ms: int = Field(default=20, ge=0)
    consume_concurrency: int = Field(default=16, ge=1)
    consume_commit_interval_ms: int = Field(default=1000, ge=0)
    # Each fetch from the broker answers once it has this many bytes, or after this long: a quiet log costs
    # one fetch per wait, a busy one fewer, fuller fetches (and batches) for a few milliseconds per hop.
    consume_fetch_min_bytes: int = Field(default=1, ge=1)
    consume_fetch_wait_ms: int = Field(default=500, ge=0)
    log_level: str = "INFO"
    # Observability: JSON log lines (or text for a terminal); traces exported over OTLP/HTTP, or none.
    log_format: Literal["json", "text"] = "json"
    tracing_exporter: Literal["none", "otlp", "console", "memory"] = "none"
    tracing_otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    tracing_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    lag_probe_s: float = Field(default=15.0, gt=0)  # how often consumer lag is measured for /metrics

    def kafka_auth(self) -> KafkaAuth:
        return KafkaAuth(self.kafka_username, self.kafka_password.get_secret_value() if self.kafka_password else None)

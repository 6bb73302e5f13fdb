"""Settings common to every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    host: str = "127.0.0.1"
    port: int = 8000
    topic_prefix: str = "governance"
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    publish_timeout_ms: int = Field(default=5_000, ge=500)
    # api key -> name of the calling tool. Secrets: no default keys in code.
    api_keys: dict[str, str] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    handler_max_attempts: int = Field(default=5, ge=1)
    handler_backoff_s: float = Field(default=0.2, gt=0)
    handler_backoff_max_s: float = Field(default=30.0, gt=0)
    outbox_relay_s: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"

"""Events a service gave up on: kept on a dead-letter topic and listed in Redis for an operator to replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from redis.asyncio import Redis

from shared.envelope import derived_id
from shared.topics import Topics

__all__ = ["DeadLetters"]


class DeadLetters:
    """Events a service gave up on: kept on a topic and listed in Redis for an operator to replay."""

    def __init__(self, redis: Redis, broker: KafkaBroker | None, topics: Topics, service: str) -> None:
        self._redis = redis
        self._broker = broker
        self._topic = topics.dead_letters(service)
        self._replays = topics.replays(service)
        self._key = f"{service}:dead-letters"
        self.service = service

    async def add(self, body: bytes, *, topic: str, partition: int, offset: int,
                  error: str, attempts: int, key: bytes | None = None) -> str:
        letter_id = derived_id(self.service, topic, str(partition), str(offset))
        at = datetime.now(UTC).isoformat()
        record = {
            "id": letter_id, "service": self.service, "topic": topic,
            "partition": partition, "offset": offset, "error": error[:2000],
            "attempts": attempts, "dead_lettered_at": at,
            "body": body.decode(errors="replace"), "replayed_at": None,
            "key": key.decode(errors="replace") if key else None,
        }
        # The headers carry the whole listing, so a rebuild can restore it from the topic.
        await self._on_kafka().publish(body, self._topic, key=key, headers={
            "dlq_id": letter_id, "dlq_topic": topic, "dlq_error": error[:500], "dlq_partition": str(partition),
            "dlq_offset": str(offset), "dlq_attempts": str(attempts), "dlq_at": at,
        })
        await self._redis.hset(self._key, letter_id, json.dumps(record))
        return letter_id

    async def restore(self, kept: ConsumerRecord[bytes, bytes]) -> None:
        """List again a letter read back from the dead-letter topic (a rebuild); replays are not kept there."""
        headers = {name: value.decode(errors="replace") for name, value in kept.headers}
        letter_id = headers.get("dlq_id")
        if letter_id is None:
            return
        record = {
            "id": letter_id, "service": self.service, "topic": headers.get("dlq_topic"),
            "partition": int(headers.get("dlq_partition", "-1")), "offset": int(headers.get("dlq_offset", "-1")),
            "error": headers.get("dlq_error", ""), "attempts": int(headers.get("dlq_attempts", "0")),
            "dead_lettered_at": headers.get("dlq_at") or datetime.fromtimestamp(kept.timestamp / 1000, UTC).isoformat(),
            "body": (kept.value or b"").decode(errors="replace"), "replayed_at": None,
            "key": kept.key.decode(errors="replace") if kept.key else None,
        }
        await self._redis.hsetnx(self._key, letter_id, json.dumps(record))

    def _on_kafka(self) -> KafkaBroker:
        assert self._broker is not None, "dead letters opened without a broker can only be listed and restored"
        return self._broker

    async def list(self) -> list[dict[str, Any]]:
        rows = [json.loads(v) for v in (await self._redis.hvals(self._key))]
        return sorted(rows, key=lambda r: r["dead_lettered_at"])

    async def count(self) -> int:
        return int(await self._redis.hlen(self._key))

    async def get(self, letter_id: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(self._key, letter_id)
        return None if raw is None else dict(json.loads(raw))

    async def replay(self, letter_id: str) -> dict[str, Any] | None:
        """Put the original message back before the service, for after the cause was fixed: on the service's
        own replay topic (it may write no other service's topic), with the original record key."""
        record = await self.get(letter_id)
        if record is None:
            return None
        key = record.get("key")
        await self._on_kafka().publish(record["body"].encode(), self._replays,
                                       key=key.encode() if key else None,
                                       headers={"dlq_replayed": letter_id, "dlq_topic": record["topic"]})
        record["replayed_at"] = datetime.now(UTC).isoformat()
        await self._redis.hset(self._key, letter_id, json.dumps(record))
        return record

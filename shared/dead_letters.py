"""Events a service gave up on: kept on a dead-letter topic and listed in Redis for an operator to replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from redis.asyncio import Redis

from shared.envelope import derived_id
from shared.topics import Topics

__all__ = ["DeadLetters"]


class DeadLetters:
    """Events a service gave up on: kept on a topic and listed in Redis for an operator to replay."""

    def __init__(self, redis: Redis, broker: KafkaBroker, topics: Topics, service: str) -> None:
        self._redis = redis
        self._broker = broker
        self._topic = topics.dead_letters(service)
        self._key = f"{service}:dead-letters"
        self.service = service

    async def add(self, body: bytes, *, topic: str, partition: int, offset: int,
                  error: str, attempts: int, key: bytes | None = None) -> str:
        letter_id = derived_id(self.service, topic, str(partition), str(offset))
        record = {
            "id": letter_id, "service": self.service, "topic": topic,
            "partition": partition, "offset": offset, "error": error[:2000],
            "attempts": attempts, "dead_lettered_at": datetime.now(UTC).isoformat(),
            "body": body.decode(errors="replace"), "replayed_at": None,
            "key": key.decode(errors="replace") if key else None,
        }
        await self._broker.publish(body, self._topic, key=key, headers={
            "dlq_id": letter_id, "dlq_topic": topic, "dlq_error": error[:500],
        })
        await self._redis.hset(self._key, letter_id, json.dumps(record))
        return letter_id

    async def list(self) -> list[dict[str, Any]]:
        rows = [json.loads(v) for v in (await self._redis.hvals(self._key))]
        return sorted(rows, key=lambda r: r["dead_lettered_at"])

    async def get(self, letter_id: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(self._key, letter_id)
        return None if raw is None else dict(json.loads(raw))

    async def replay(self, letter_id: str) -> dict[str, Any] | None:
        """Put the original message back on its topic, for after the cause was fixed."""
        record = await self.get(letter_id)
        if record is None:
            return None
        key = record.get("key")
        await self._broker.publish(record["body"].encode(), record["topic"],
                                   key=key.encode() if key else None, headers={"dlq_replayed": letter_id})
        record["replayed_at"] = datetime.now(UTC).isoformat()
        await self._redis.hset(self._key, letter_id, json.dumps(record))
        return record

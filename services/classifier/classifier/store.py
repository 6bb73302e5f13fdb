"""Classifier's Redis state: every published version of each quarter's OKR set."""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

from classifier.domain import OkrSet


def _versions_key(quarter: str) -> str:
    return f"classifier:okrs:{quarter}"


class OkrStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def latest(self, quarter: str) -> OkrSet | None:
        raw = await self._redis.hget(_versions_key(quarter), "latest")
        if raw is None:
            return None
        return await self.version(quarter, int(raw))

    async def version(self, quarter: str, version: int) -> OkrSet | None:
        raw = await self._redis.hget(_versions_key(quarter), f"v{version}")
        return None if raw is None else OkrSet.model_validate_json(raw)

    async def versions(self, quarter: str) -> list[int]:
        fields = cast(list[str], await self._redis.hkeys(_versions_key(quarter)))
        return sorted(int(f[1:]) for f in fields if f.startswith("v"))

    async def save(self, okrs: OkrSet) -> None:
        """Idempotent: keeps every version, and ``latest`` never goes back."""
        key = _versions_key(okrs.quarter)
        await self._redis.hsetnx(key, f"v{okrs.version}", okrs.model_dump_json())
        latest = await self._redis.hget(key, "latest")
        if latest is None or int(latest) < okrs.version:
            await self._redis.hset(key, "latest", okrs.version)

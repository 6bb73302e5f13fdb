"""Per-key rate limits in Redis: a fixed one-minute window per key and service."""

from __future__ import annotations

from redis.asyncio import Redis

__all__ = ["RateLimiter"]

# Count this call; when over the limit, answer the milliseconds until the window ends, else -1.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
  return left
end
return -1
"""
WINDOW_MS = 60_000


class RateLimiter:
    def __init__(self, redis: Redis, service: str) -> None:
        self._redis = redis
        self._service = service

    async def retry_after_s(self, key_id: str, per_minute: int) -> int | None:
        """Count one call of ``key_id``; None when within its limit, else seconds to wait."""
        left = int(await self._redis.eval(_COUNT, 1, f"{self._service}:ratelimit:{key_id}",
                                          WINDOW_MS, per_minute))
        return None if left < 0 else max(1, -(-left // 1000))

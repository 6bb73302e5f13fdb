"""What access control costs, and how fast a key change reaches the other services (``make up`` first).

    python bench/bench_access.py [--calls 300] [--rounds 10]

- the same read with and without the key check (``/healthz`` against ``/v1/me``: bearer
  lookup plus the per-key rate-limit count in Redis), sequential, on capacity;
- a key made at intake: time until capacity accepts it; revoked at intake: time until
  capacity refuses it (the keys topic carries both).

Prints figures; asserts nothing. Compare runs on the same machine, as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
INTAKE, CAPACITY = "http://127.0.0.1:8001", "http://127.0.0.1:8003"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def timed(client: httpx.AsyncClient, url: str, headers: dict[str, str], calls: int) -> list[float]:
    took = []
    for _ in range(calls):
        started = time.perf_counter()
        (await client.get(url, headers=headers)).raise_for_status()
        took.append(time.perf_counter() - started)
    return took


async def until(client: httpx.AsyncClient, url: str, key: str, status: int) -> float:
    started = time.perf_counter()
    for _ in range(10_000):  # polling as fast as the service answers; about 10 s at most
        if (await client.get(url, headers={"Authorization": f"Bearer {key}"})).status_code == status:
            return time.perf_counter() - started
    raise TimeoutError(f"{url} never answered {status}")


async def main(calls: int, rounds: int) -> None:
    dev = {"Authorization": f"Bearer {(ROOT / '.run/dev-api-key').read_text().strip()}"}
    run = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=10) as client:
        made = await client.post(f"{INTAKE}/v1/keys", headers=dev, json={
            "tool": f"bench-{run}", "role": "ops", "rate_limit_per_minute": 100_000})
        made.raise_for_status()
        key = {"Authorization": f"Bearer {made.json()['key']}"}
        await timed(client, f"{CAPACITY}/v1/me", key, 20)  # warm-up
        open_ = await timed(client, f"{CAPACITY}/healthz", {}, calls)
        checked = await timed(client, f"{CAPACITY}/v1/me", key, calls)
        print(f"capacity, {calls} sequential calls")
        print(f"  GET /healthz (no key)      p50 {pct(open_, .5):5.2f} ms  p99 {pct(open_, .99):5.2f} ms")
        print(f"  GET /v1/me (key checked)   p50 {pct(checked, .5):5.2f} ms  p99 {pct(checked, .99):5.2f} ms"
              f"  ratio p50 {pct(checked, .5) / pct(open_, .5):.2f}")
        await client.delete(f"{INTAKE}/v1/keys/{made.json()['key_id']}", headers=dev)

        accepted, refused = [], []
        for i in range(rounds):
            fresh = await client.post(f"{INTAKE}/v1/keys", headers=dev, json={"tool": f"bench-{run}-{i}",
                                                                              "role": "team_member"})
            fresh.raise_for_status()
            accepted.append(await until(client, f"{CAPACITY}/v1/me", fresh.json()["key"], 200))
            await client.delete(f"{INTAKE}/v1/keys/{fresh.json()['key_id']}", headers=dev)
            refused.append(await until(client, f"{CAPACITY}/v1/me", fresh.json()["key"], 401))
        print(f"key changes made at intake, seen by capacity, {rounds} rounds")
        print(f"  new key accepted after     p50 {pct(accepted, .5):5.1f} ms  max {max(accepted) * 1000:5.1f} ms")
        print(f"  revoked key refused after  p50 {pct(refused, .5):5.1f} ms  max {max(refused) * 1000:5.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))

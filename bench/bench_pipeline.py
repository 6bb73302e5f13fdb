"""POST-to-sent-email latency and burst throughput of the running stack (``make up`` first).

    python bench/bench_pipeline.py [--sequential 30] [--burst 200] [--concurrency 20]

Prints figures; asserts nothing. Compare runs on the same machine, as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
INTAKE, NOTIFIER = "http://127.0.0.1:8001", "http://127.0.0.1:8004"


def body(i: int, run: str) -> dict[str, object]:
    return {"title": f"Bench request {run}-{i}", "description": "A landing page for one account.",
            "work_type": "landing_page", "size": "S",
            "requester": {"id": "bench", "name": "Bench", "email": "bench@example.com", "team": "Bench",
                          "type": "sales"}}


async def submit_and_wait(client: httpx.AsyncClient, auth: dict[str, str], i: int, run: str) -> tuple[float, float]:
    """Seconds to the 202, and to the first notification the notifier has sent (to make up's mail sink)."""
    started = time.perf_counter()
    answer = await client.post(f"{INTAKE}/v1/requests", json=body(i, run),
                               headers={**auth, "Idempotency-Key": f"{run}-{i}"})
    answer.raise_for_status()
    accepted = time.perf_counter() - started
    request_id = answer.json()["id"]
    while True:
        told = await client.get(f"{NOTIFIER}/v1/notifications", params={"request_id": request_id}, headers=auth)
        told.raise_for_status()
        if any(item["status"] != "pending" for item in told.json()["items"]):
            return accepted, time.perf_counter() - started
        await asyncio.sleep(0.005)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main(sequential: int, burst: int, concurrency: int) -> None:
    dev = {"Authorization": f"Bearer {(ROOT / '.run/dev-api-key').read_text().strip()}"}
    run = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=30) as client:
        # A key of its own, over the default 600 calls a minute: polling for the email is many calls.
        made = await client.post(f"{INTAKE}/v1/keys", headers=dev, json={
            "tool": f"bench-{run}", "role": "ops", "rate_limit_per_minute": 100_000})
        made.raise_for_status()
        auth = {"Authorization": f"Bearer {made.json()['key']}"}
        await submit_and_wait(client, auth, -1, run)  # warm-up
        results = [await submit_and_wait(client, auth, i, run) for i in range(sequential)]
        accept = [a for a, _ in results]
        notify = [n for _, n in results]
        print(f"sequential, {sequential} requests")
        print(f"  POST -> 202            p50 {pct(accept, .5):6.1f} ms  p95 {pct(accept, .95):6.1f} ms")
        print(f"  POST -> email sent     p50 {pct(notify, .5):6.1f} ms  p95 {pct(notify, .95):6.1f} ms  "
              f"mean {statistics.mean(notify) * 1000:.1f} ms")

        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> tuple[float, float]:
            async with gate:
                return await submit_and_wait(client, auth, 10_000 + i, run)

        started = time.perf_counter()
        burst_results = await asyncio.gather(*(one(i) for i in range(burst)))
        elapsed = time.perf_counter() - started
        notify = [n for _, n in burst_results]
        print(f"burst, {burst} requests, {concurrency} at a time")
        print(f"  all notified in {elapsed:.2f} s  ({burst / elapsed:.0f} requests/s end to end)")
        print(f"  POST -> email sent     p50 {pct(notify, .5):6.1f} ms  p95 {pct(notify, .95):6.1f} ms")
        await client.delete(f"{INTAKE}/v1/keys/{made.json()['key_id']}", headers=dev)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential", type=int, default=30)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.sequential, args.burst, args.concurrency))

"""Three simulated past quarters of finished work for the demo, imported into capacity's flow history
(``POST /v1/flow/import``), so forecasts show real ranges from the start.

Each lane starts, week by week, a random number of requests around the pace its share of the policy
allows (customer work most, legal least), and each takes a few days to finish. The same seed gives the
same history, and importing it twice changes nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

__all__ = ["import_history"]

WEEKS = 39  # three quarters
# Requests started per week, on average, and typical days from start to done.
PACE = {"customer": (3.0, 4.0), "sales": (1.5, 3.0), "business_unit": (1.2, 5.0), "executive": (0.8, 3.0),
        "legal": (0.4, 6.0)}
BATCH = 150  # items per import, well inside a request body's limit


def past_work(today: datetime, seed: int = 2026) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    monday = (today - timedelta(days=today.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    items: list[dict[str, Any]] = []
    for lane, (per_week, days) in PACE.items():
        for week in range(WEEKS, 0, -1):
            begins = monday - timedelta(weeks=week)
            count = sum(rng.random() < per_week / 4 for _ in range(4)) if per_week < 4 else rng.randint(2, 4)
            for n in range(count):
                started = begins + timedelta(days=rng.uniform(0, 5))
                done = started + timedelta(days=rng.gammavariate(2.0, days / 2.0))
                if done >= today:
                    continue
                items.append({"request_id": f"history-{lane}-{week:02d}-{n}", "lane": lane,
                              "points": rng.choice((1, 2, 3, 3, 5)),
                              "submitted_at": (started - timedelta(days=rng.uniform(1, 20))).isoformat(),
                              "started_at": started.isoformat(), "done_at": done.isoformat()})
    return items


def import_history(client: httpx.Client, capacity: str) -> int:
    """Import the simulated quarters; how many finished requests they hold."""
    items = past_work(datetime.now(UTC))
    for first in range(0, len(items), BATCH):
        answer = client.post(f"{capacity}/v1/flow/import", json={"items": items[first:first + BATCH]})
        answer.raise_for_status()
    return len(items)

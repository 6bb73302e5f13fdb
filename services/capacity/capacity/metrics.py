"""Capacity's gauges for ``/metrics``, read from the current ledger and plan at each scrape:
committed points, budget and share per lane this cycle, the customer share against its reserve,
backlog depth, open trade-offs and active alerts (the numbers ``GET /v1/capacity`` answers)."""

from __future__ import annotations

from prometheus_client.core import Metric

from capacity import views
from capacity.service import CapacityService
from shared.observability.metrics import Reader, gauge

__all__ = ["capacity_gauges"]


def capacity_gauges(service: CapacityService) -> Reader:
    async def read() -> list[Metric]:
        now = views.capacity(*await service.current())
        lanes = now["lanes"]
        return [
            gauge("capacity_cycle_points", "The team's capacity this cycle, in points",
                  samples=[((), now["capacity_points"])]),
            gauge("capacity_committed_points", "Points committed this cycle, by lane", ["lane"],
                  [((lane, ), v["committed_points"]) for lane, v in lanes.items()]),
            gauge("capacity_lane_budget_points", "The lane's budget this cycle by policy (cap, or the reserve)",
                  ["lane"], [((lane, ), v["budget_points"]) for lane, v in lanes.items()
                             if v["budget_points"] is not None]),
            gauge("capacity_lane_share", "Share of this cycle's capacity committed to the lane (0..1)", ["lane"],
                  [((lane, ), v["share"]) for lane, v in lanes.items()]),
            gauge("capacity_customer_share", "Share of this cycle's capacity committed to customer work (0..1)",
                  samples=[((), now["customer_share"])]),
            gauge("capacity_customer_reserve", "The share the policy reserves for customer work (0..1)",
                  samples=[((), now["customer_reserve"])]),
            gauge("capacity_backlog_depth", "Requests waiting in the backlog", samples=[((), now["backlog_depth"])]),
            gauge("capacity_open_tradeoffs", "Trade-off questions waiting for a decision",
                  samples=[((), len(now["open_tradeoffs"]))]),
            gauge("capacity_active_alerts", "Capacity alerts raised this cycle", samples=[((), len(now["alerts"]))]),
        ]

    return read

"""One sample of every event the notifier tells people about, as capacity would send it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.events import (
    CapacityAlert,
    CommittedItem,
    ConflictDetected,
    EventData,
    ForecastSlipped,
    RequestBacklogged,
    RequestClassified,
    RequestDetails,
    RequestDone,
    Requester,
    RequestMerged,
    RequestPaused,
    RequestScheduled,
    RequestStarted,
    SimilarRequest,
    SleAtRisk,
    StartForecast,
    TradeoffDecided,
    TradeoffRequired,
)
from tests.support import request_body

DAVE = Requester(**request_body()["requester"])
AISHA = Requester(id="u-3301", name="Aisha Khan", email="aisha@example.com", team="Atlas Product", type="business_unit")
VP = Requester(id="u-0001", name="Victoria Price", email="vp@example.com", team="Executive Office", type="executive")
HEAT_SHIELD = "heat-shield@example.com"


def backlogged(request_id: str = "r-1", *, position: int = 4, objective_id: str | None = None,
               **overrides: Any) -> RequestBacklogged:
    values: dict[str, Any] = {
        "request_id": request_id, "title": "Landing page for Halvorsen Logistics", "requester": DAVE,
        "lane": "sales", "objective_id": objective_id, "position": position, "expected_start_cycle": "2026-W49",
        "expected_start": date(2026, 11, 30), "points": 3,
        "reason": "It does not ladder up to one of this quarter's published objectives, so it is accepted and "
                  "queued after the objective work. The sales share of this cycle (4 of 20 points) is already "
                  "committed.",
        **overrides,
    }
    return RequestBacklogged(**values)


def committed() -> list[CommittedItem]:
    return [CommittedItem(request_id="r-10", title="Customer webinar series", lane="customer", points=5),
            CommittedItem(request_id="r-11", title="Quarterly exec report", lane="executive", points=3)]


def samples() -> dict[str, EventData]:
    """Every event type the notifier tells people about, keyed by type."""
    card: dict[str, Any] = {"request_id": "r-1", "title": "Landing page for Halvorsen Logistics",
                            "requester": DAVE, "lane": "sales"}
    summit = CommittedItem(request_id="r-20", title="Sponsored summit booth", lane="sales", points=8, requester=DAVE)
    launch = CommittedItem(request_id="r-21", title="Atlas 3.0 launch kit", lane="business_unit", points=8,
                           requester=AISHA)
    events: list[EventData] = [
        backlogged(objective_id="O2"),
        RequestScheduled(**card, cycle="2026-W48", cycle_start=date(2026, 11, 23), points=3, objective_id=None),
        RequestStarted(**card, by="team-board"),
        RequestPaused(**card, by="ops", reason=None, tradeoff_id="t-1", resume_from=date(2026, 11, 30)),
        RequestDone(**card, by="team-board"),
        TradeoffRequired(
            request_id="r-30", title="Board slides", requester=VP, lane="executive", tradeoff_id="t-1",
            cycle="2026-W48", committed=committed(), addressed_to=[HEAT_SHIELD, VP.email],
            question="\"Board slides\" is marked urgent but does not fit cycle 2026-W48. The executive share of "
                     "this cycle (3 of 20 points) is already committed. Here is everything committed this cycle "
                     "(8 points) — what would you like us to pause?"),
        TradeoffDecided(request_id="r-30", tradeoff_id="t-1", decision="defer", decided_by="heat-shield",
                        policy_version=3, note="The board meets next week; the quarterly report goes first.",
                        title="Board slides", requester=VP),
        ConflictDetected(request_id="r-20", conflict_id="c-1", cycle="2026-W50", requests=[summit, launch],
                         stakeholders=[DAVE, AISHA],
                         observation="Enterprise Sales and Atlas Product each need large work by cycle 2026-W50: "
                                     "16 points against 8 available. They cannot all be done in time; please "
                                     "settle the priorities together before the cycle starts."),
        ForecastSlipped(**card, previous_p85=date(2026, 12, 7), start_forecast=StartForecast(
            likely=date(2026, 12, 9), p85=date(2026, 12, 21), p95=date(2026, 12, 30), method="monte_carlo",
            history_items=42)),
        SleAtRisk(**card, started_at=datetime(2026, 11, 10, 9, tzinfo=UTC), age_days=15.2, sle_days=11.5),
        CapacityAlert(alert_id="a-1", cycle="2026-W48", kind="internal_over_allowance", lane="executive",
                      observation="About 35% of this cycle goes to executive requests, against a cap of 15%; the "
                                  "customer share is 0% against a reserve of 50%.",
                      shares={"executive": 0.35, "sales": 0.2, "customer": 0.0}),
    ]
    return {e.event_type: e for e in [*events, *reuse()]}


def reuse() -> tuple[RequestClassified, RequestMerged]:
    """A request that looks like another stakeholder's, and a merge of one into the other."""
    logos = RequestDetails(title="Customer logos on the website", description="Show our customers' logos.",
                           work_type="landing_page", requester=DAVE)
    marks = SimilarRequest(request_id="r-40", score=0.87, kind="duplicate", shared_terms=["logos", "website"],
                           title="Brand marks on our public pages", team=AISHA.team, lane="business_unit",
                           submitted_at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    return (
        RequestClassified(request_id="r-41", request=logos, submitted_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
                          lane="sales", colour="orange", objective_id=None, rationale="test", similar=[marks]),
        RequestMerged(request_id="r-41", into="r-40", merged_by="ops", title=logos.title, requester=DAVE,
                      into_title=marks.title, into_requester=AISHA, reason="The same pages"),
    )

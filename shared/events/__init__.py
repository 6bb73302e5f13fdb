"""Every event of the public interface (the envelope that carries them is ``shared.envelope``).

Events are frozen, past-tense models. They change only by adding optional fields
or by a new ``type`` version. The same JSON travels on Kafka and in webhooks.
"""

from __future__ import annotations

from shared.events.base import LANES, ClaimVerdict, EventData, Lane, RequestDetails, Requester, lane_words
from shared.events.decisions import (
    BypassRefused,
    CapacityAlert,
    CommittedItem,
    ConflictDetected,
    ForecastSlipped,
    RequestBacklogged,
    RequestDone,
    RequestPaused,
    RequestScheduled,
    RequestStarted,
    SleAtRisk,
    StartForecast,
    TradeoffDecided,
    TradeoffRequired,
)
from shared.events.requests import RequestClassified, RequestMerged, RequestSubmitted, RequestWithdrawn, SimilarRequest
from shared.events.system import NotificationSent, OkrObjective, OkrsPublished, PolicyUpdated

__all__ = [
    "LANES",
    "BypassRefused",
    "CapacityAlert",
    "ClaimVerdict",
    "CommittedItem",
    "ConflictDetected",
    "EventData",
    "ForecastSlipped",
    "StartForecast",
    "Lane",
    "NotificationSent",
    "OkrObjective",
    "OkrsPublished",
    "PolicyUpdated",
    "RequestBacklogged",
    "RequestClassified",
    "RequestDetails",
    "RequestDone",
    "RequestMerged",
    "RequestPaused",
    "RequestScheduled",
    "RequestStarted",
    "RequestSubmitted",
    "RequestWithdrawn",
    "Requester",
    "SimilarRequest",
    "SleAtRisk",
    "TradeoffDecided",
    "TradeoffRequired",
    "EVENT_TYPES",
    "lane_words",
]

EVENT_TYPES: dict[str, type[EventData]] = {
    cls.event_type: cls
    for cls in (
        RequestSubmitted, RequestWithdrawn, RequestClassified, RequestScheduled,
        RequestBacklogged, TradeoffRequired, ConflictDetected, RequestStarted,
        RequestPaused, TradeoffDecided, RequestDone, BypassRefused, CapacityAlert, OkrsPublished,
        PolicyUpdated, NotificationSent, RequestMerged, ForecastSlipped, SleAtRisk,
    )
}

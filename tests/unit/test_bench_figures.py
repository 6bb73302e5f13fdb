"""The load benchmark's figures count a requester as told only by a notice that was sent."""

from bench.load.figures import pipeline
from bench.load.vegeta import Result
from bench.load.watch import Sighting


def notice(request_id: str, about: str, at: float, status: str, detail: str | None = None) -> Sighting:
    return Sighting(request_id=request_id, type="notification.sent", event_id=f"n-{request_id}-{about}-{at}", at=at,
                    about_type=about, about_id=f"e-{request_id}-{about}", audience="requester", status=status,
                    detail=detail)


def test_a_notice_kept_back_tells_nobody_and_one_replacing_it_does() -> None:
    ids = ("r-1", "r-2", "r-3")
    results = [Result(sent=100.0, latency=0.01, code=202, request_id=r) for r in ids]
    sightings = [
        *(Sighting(request_id=r, type="request.backlogged", event_id=f"e-{r}", at=100.1) for r in ids),
        notice("r-1", "request.backlogged", 100.2, "sent"),
        notice("r-2", "request.backlogged", 100.2, "not_sent", "throttled: ..."),  # never told
        notice("r-3", "request.backlogged", 100.2, "not_sent", "not sent: a later notice ... replaced it"),
        notice("r-3", "request.forecast_slipped", 100.5, "sent"),  # told, by the notice that replaced it
    ]
    figures = pipeline(results, sightings)
    assert figures.lost_decision == 0
    assert figures.lost_notice == 1  # r-2
    assert figures.to_notice.p50 is not None and round(figures.to_notice.p50) == 200  # r-1 at 200 ms, r-3 at 500
    assert figures.to_notice.p99 is not None and round(figures.to_notice.p99) > 400

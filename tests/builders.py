"""Builders of events and OKR sets for the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar

from shared.envelope import CloudEvent, derived_id
from shared.events import (
    EventData,
    RequestBacklogged,
    RequestClassified,
    Requester,
    RequestMerged,
    RequestSubmitted,
    RequestWithdrawn,
)
from tests.support import details, event, request_body

# A capacity policy for PUT /v1/policy: 20 points a cycle; half reserved for customer work; sales and
# business units 4 points each, executives 3, legal 2.
POLICY: dict[str, Any] = {
    "capacity_points": 20, "customer_reserve": 0.5,
    "lane_caps": {"sales": 0.2, "business_unit": 0.2, "executive": 0.15, "legal": 0.1},
    "wip_limits": {"customer": 5, "sales": 5, "business_unit": 5, "executive": 5, "legal": 5},
    "wip_total": 20}

OBJECTIVES: list[dict[str, Any]] = [
    {"id": "O1", "title": "Launch Atlas 3.0 into the mid-market",
     "description": "Launch campaign, launch events, demos and comparison content for the new release.",
     "key_results": ["400 qualified mid-market opportunities citing Atlas 3.0"],
     "keywords": ["Atlas 3.0", "launch", "demo"]},
    {"id": "O2", "title": "Reduce customer churn through onboarding and education",
     "description": "Onboarding journeys, academy courses and customer webinars that build everyday usage.",
     "key_results": ["Monthly churn down from 2.1% to 1.5%"],
     "keywords": ["churn", "onboarding", "webinar", "training"]},
    {"id": "O3", "title": "Build brand awareness in healthcare",
     "description": "Thought leadership, case studies and events for hospitals and health systems.",
     "key_results": ["Aided awareness among health-system data leaders from 8% to 15%"],
     "keywords": ["healthcare", "hospitals", "HIPAA"]},
    {"id": "O4", "title": "Grow self-serve revenue from the website",
     "description": "Sign-up and checkout funnel, pricing page and free-trial conversion.",
     "key_results": ["Trial-to-paid conversion from 3.2% to 4.5%"],
     "keywords": ["pricing page", "free trial", "checkout"]},
    {"id": "O5", "title": "Earn back customer trust after the outage",
     "description": "Post-incident report, reliability roadmap and status-page updates.",
     "key_results": ["Contact every affected account about its SLA credit"],
     "keywords": ["outage", "reliability", "status page"]},
]


def okr_set(count: int = 3, **overrides: Any) -> dict[str, Any]:
    """A ``PUT /v1/okrs/{quarter}`` body with ``count`` objectives (6 repeats the first)."""
    chosen = [OBJECTIVES[i % len(OBJECTIVES)] for i in range(count)]
    body: dict[str, Any] = {
        "objectives": [{**o, "id": f"O{i}", "rank": i} for i, o in enumerate(chosen, start=1)],
        "approved_by": "Maria Okafor, VP Marketing",
        "approved_at": "2026-09-28T16:00:00Z",
    }
    body.update(overrides)
    return body


def submitted(request_id: str, **overrides: Any) -> CloudEvent:
    data = RequestSubmitted(request_id=request_id, request=details(**overrides),
                            submitted_at=datetime.now(UTC), submitted_by="test-tool")
    return event(data, event_id=derived_id(request_id, data.event_type))


def classified(request_id: str, *, objective: str | None = None, rank: int | None = None,
               lane: str = "sales", submitted_at: datetime | None = None, colour: str = "orange",
               objective_title: str | None = None, **overrides: Any) -> CloudEvent:
    requester = overrides.pop("requester", {**request_body()["requester"], "type": lane})
    data = RequestClassified(
        request_id=request_id, request=details(requester=requester, **overrides),
        submitted_at=submitted_at or datetime.now(UTC), lane=lane,
        colour=colour, objective_id=objective, objective_title=objective_title, objective_rank=rank,
        score=1.0 if objective else 0.0, rationale="test")
    return event(data, event_id=derived_id(request_id, data.event_type))


def classification(request_id: str, fields: dict[str, Any] | None = None, **options: Any) -> RequestClassified:
    """``classified``'s payload as the model capacity folds, with ``fields`` of the event set over it."""
    return RequestClassified.model_validate({**classified(request_id, **options).data, **(fields or {})})


def backlogged(request_id: str, position: int = 1) -> CloudEvent:
    data = RequestBacklogged(
        request_id=request_id, title="Landing page", requester=Requester(**request_body()["requester"]),
        lane="sales", objective_id=None, position=position, expected_start_cycle="2026-W49",
        expected_start=date(2026, 11, 30), points=3, reason="Queued after objective work.")
    return event(data, event_id=derived_id(request_id, data.event_type, str(position)))


def withdrawn(request_id: str) -> RequestWithdrawn:
    return RequestWithdrawn(request_id=request_id, withdrawn_by="test-tool")


def merged(request_id: str, into: str) -> RequestMerged:
    person = Requester(**request_body()["requester"])
    return RequestMerged(request_id=request_id, into=into, merged_by="ops", title=request_id.title(),
                         requester=person, into_title=into.title(), into_requester=person)


Decision = TypeVar("Decision", bound=EventData)


def about_card(model: type[Decision], request_id: str, *, lane: str = "sales", **fields: Any) -> Decision:
    """One of capacity's decisions about a card (``request.scheduled``, ``request.paused`` ...), with the
    card's title, requester and lane filled in; ``fields`` gives the rest."""
    return model.model_validate({"request_id": request_id, "title": request_id.title(),
                                 "requester": request_body()["requester"], "lane": lane, **fields})


# Asks that look nothing alike (the similarity detector flags none of the pairs), for tests that count what
# people are told: look-alike asks of different requesters also bring reuse notices.
UNALIKE_ASKS: list[tuple[str, str, str]] = [
    ("Quarterly board report on pipeline health", "Slides with the pipeline numbers for the board.", "deck"),
    ("Trade show booth graphics for Hannover", "Banners and a backdrop for our stand at the fair.", "creative"),
    ("Onboarding email sequence for new customers", "Five emails over the first month.", "email"),
    ("Press release on the Lisbon office opening", "Announce the new office to regional media.", "report"),
    ("Recruiting video for engineering roles", "A two-minute video about working in our labs.", "creative"),
    ("Legal review of the partner program terms", "Check the new reseller terms before they go out.", "review"),
    ("LinkedIn ads for the analytics webinar", "Paid social to fill the March analytics webinar.", "ad"),
    ("Microsite for the sustainability report", "A small site presenting our carbon figures.", "microsite"),
    ("Customer case study with Northwind Freight", "Interview and write up their warehouse rollout.", "report"),
    ("Holiday greeting card for key accounts", "A printed card for the top fifty customers.", "creative"),
    ("Pricing page refresh after the tier change", "Update plans and the comparison table.", "landing_page"),
    ("Internal newsletter for the sales kickoff", "Agenda and travel notes for the January kickoff.", "email"),
    ("Instagram posts for the summer intern program", "Three posts introducing this year's interns.", "social_post"),
    ("Support for the Berlin developer meetup", "Swag, name badges and a welcome slide.", "event_support"),
    ("Competitive battlecard against Initech", "One page for sales on how we differ.", "deck"),
    ("Translate the product tour into Japanese", "Localise the in-app tour for the Tokyo launch.", "other"),
]


def unalike(i: int, **overrides: Any) -> dict[str, Any]:
    """A ``POST /v1/requests`` body for the ``i``-th of ``UNALIKE_ASKS``; override any field."""
    title, description, work_type = UNALIKE_ASKS[i]
    return request_body(title=title, description=description, work_type=work_type, **overrides)

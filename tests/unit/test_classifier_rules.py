from datetime import date

import pytest
from pydantic import ValidationError

from classifier.domain import Classifier, OkrSet, OkrSetCreate, current_quarter, quarter_bounds
from tests.builders import okr_set
from tests.support import details


def published(count: int = 5) -> OkrSet:
    body = OkrSetCreate.model_validate(okr_set(count))
    return OkrSet(quarter="2026-Q4", version=1, objectives=body.objectives, approved_by=body.approved_by,
                  approved_at=body.approved_at, published_at=body.approved_at, published_by="ops")


@pytest.mark.parametrize("count", [2, 6])
def test_an_okr_set_has_three_to_five_objectives(count: int) -> None:
    with pytest.raises(ValidationError):
        OkrSetCreate.model_validate(okr_set(count))


def test_an_okr_set_needs_a_sign_off() -> None:
    with pytest.raises(ValidationError):
        OkrSetCreate.model_validate({k: v for k, v in okr_set(3).items() if k != "approved_at"})


def test_objectives_without_rank_are_ranked_in_the_order_given() -> None:
    body = okr_set(3)
    body["objectives"] = [{k: v for k, v in o.items() if k != "rank"} for o in body["objectives"]]
    assert [o.rank for o in OkrSetCreate.model_validate(body).objectives] == [1, 2, 3]


def test_quarters_cover_their_three_months() -> None:
    assert quarter_bounds("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarter_bounds("2027-Q1") == (date(2027, 1, 1), date(2027, 3, 31))
    assert current_quarter(date(2026, 11, 22)) == "2026-Q4"
    assert current_quarter(date(2026, 11, 22), pinned="2027-Q1") == "2027-Q1"


def test_lane_and_colour_come_from_the_requester_type() -> None:
    classifier = Classifier({"legal": "grey", "sales": "orange"})
    legal = details(requester={"id": "l", "name": "L", "email": "l@example.com", "team": "Legal",
                               "type": "legal"})
    result = classifier.classify(legal, published())
    assert (result.lane, result.colour) == ("legal", "grey")


def test_webinar_series_ladders_up_to_the_churn_objective() -> None:
    result = Classifier({}).classify(details(
        title="Customer onboarding webinar series", okr_claim="O2",
        description="Monthly webinars that help new customers through onboarding and training."),
        published())
    assert (result.objective_id, result.objective_rank, result.claim) == ("O2", 2, "confirmed")
    assert result.okr_version == 1
    assert result.objective_title == "Reduce customer churn through onboarding and education"


def test_one_account_landing_page_ladders_up_to_nothing_and_a_false_claim_is_contradicted() -> None:
    result = Classifier({}).classify(details(okr_claim="O3"), published())
    assert result.objective_id is None and result.objective_title is None
    assert result.claim == "contradicted"


def test_without_published_objectives_nothing_is_aligned() -> None:
    result = Classifier({}).classify(details(okr_claim="O1"), None)
    assert result.objective_id is None and result.claim == "unknown_objective"


def test_a_new_set_that_only_reranks_objectives_reclassifies_their_requests() -> None:
    from classifier.domain import OpenRequest

    classifier = Classifier({})
    webinar = details(title="Customer onboarding webinar series",
                      description="Monthly webinars that help new customers through onboarding and training.")
    before = published()
    first = classifier.classify(webinar, before)
    request = OpenRequest("r", webinar, before.approved_at, first.objective_id, first.objective_rank)
    assert classifier.changed_by(before, [request]) == []
    body = okr_set(5)
    body["objectives"] = [{**o, "rank": 6 - o["rank"]} for o in body["objectives"]]
    reranked = OkrSet(quarter="2026-Q4", version=2, objectives=OkrSetCreate.model_validate(body).objectives,
                      approved_by="ops", approved_at=before.approved_at, published_at=before.approved_at,
                      published_by="ops")
    [(_, result)] = classifier.changed_by(reranked, [request])
    assert (result.objective_id, result.objective_rank) == ("O2", 4)


def test_republishing_the_same_set_is_no_new_version_and_a_change_is_the_next() -> None:
    from datetime import UTC, datetime

    from classifier.domain import next_version

    body = OkrSetCreate.model_validate(okr_set(3))
    at = datetime(2026, 10, 1, tzinfo=UTC)
    first = next_version(None, "2026-Q4", body, by="ops", at=at)
    assert first is not None and first.version == 1
    assert next_version(first, "2026-Q4", body, by="ops", at=at) is None
    changed = OkrSetCreate.model_validate(okr_set(4))
    second = next_version(first, "2026-Q4", changed, by="ops", at=at)
    assert second is not None and second.version == 2

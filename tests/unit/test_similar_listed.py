"""The similar requests on a classification are among those a timeline lists, so a requester tool reading it
is told which of them its tool posted (and reads those)."""

from intake.domain import listed_requests, redacted


def test_the_similar_requests_of_a_classification_are_listed_and_a_tools_own_read() -> None:
    similar = [{"request_id": "mine", "score": 0.7, "kind": "overlap", "shared_terms": [], "title": "Mine",
                "team": "Web", "lane": "customer", "submitted_at": "2026-12-01"},
               {"request_id": "theirs", "score": 0.8, "kind": "duplicate", "shared_terms": [],
                "title": "Globex page", "team": "Enterprise Sales", "lane": "sales", "submitted_at": "2026-12-01"}]
    entry = {"type": "request.classified", "summary": "", "data": {"similar": similar}}
    listed = listed_requests(entry)
    assert listed == {"mine", "theirs"}
    posted_by = {"mine": "web-tool", "theirs": "crm"}
    own = {rid for rid in listed if posted_by[rid] == "web-tool"}
    assert [s["request_id"] for s in redacted(entry, own)["data"]["similar"]] == ["mine"]
    assert listed_requests({"type": "request.classified", "data": {"similar": None}}) == set()

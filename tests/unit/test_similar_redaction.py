"""A requester tool reads, of the similar requests on its request's classification, only its own."""

from intake.domain import redacted


def test_a_requester_tool_reads_only_its_own_similar_requests_and_a_count_of_the_others() -> None:
    similar = [{"request_id": "theirs", "score": 0.8, "kind": "duplicate", "shared_terms": ["globex"],
                "title": "Globex page", "team": "Enterprise Sales", "lane": "sales", "submitted_at": "2026-12-01"},
               {"request_id": "mine", "score": 0.7, "kind": "overlap", "shared_terms": [], "title": "Mine",
                "team": "Web", "lane": "customer", "submitted_at": "2026-12-01"}]
    entry = {"type": "request.classified", "summary": "Ladders up to O1.", "data": {"similar": similar}}
    seen = redacted(entry, {"r-1", "mine"})
    assert [s["request_id"] for s in seen["data"]["similar"]] == ["mine"]
    assert seen["data"]["hidden_similar"] == 1
    assert "Globex" not in str(seen)

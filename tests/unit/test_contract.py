import pytest
from pydantic import ValidationError

from shared.envelope import CloudEvent, derived_id, parse_data
from shared.events import EVENT_TYPES, RequestDetails
from shared.idempotency import fingerprint
from shared.topics import Topics, record_key
from tests.builders import backlogged, submitted
from tests.support import request_body

PUBLIC_TYPES = {
    "request.submitted", "request.classified", "request.scheduled", "request.backlogged",
    "request.tradeoff_required", "request.conflict_detected", "request.started", "request.paused",
    "request.done", "request.withdrawn", "request.bypass_refused", "capacity.alert", "okrs.published",
    "policy.updated", "notification.sent", "request.tradeoff_decided", "request.merged",
    "request.forecast_slipped", "request.sle_at_risk",
}


def test_every_event_type_of_the_public_interface_has_a_model() -> None:
    assert set(EVENT_TYPES) == PUBLIC_TYPES


def test_envelope_is_cloudevents_with_the_request_id_as_subject_and_key() -> None:
    event = submitted("r-1")
    wire = CloudEvent.model_validate_json(event.model_dump_json())
    assert wire.specversion == "1.0" and wire.subject == "r-1" and wire.type == "request.submitted"
    assert record_key(wire.subject) == b"r-1"
    assert parse_data(wire, EVENT_TYPES[wire.type]).model_dump()["request_id"] == "r-1"


def test_events_are_frozen() -> None:
    data = parse_data(backlogged("r-2"), EVENT_TYPES["request.backlogged"])
    with pytest.raises(ValidationError):
        data.position = 9  # type: ignore[attr-defined]


def test_a_request_refuses_unknown_fields_and_unknown_lanes() -> None:
    with pytest.raises(ValidationError):
        RequestDetails.model_validate(request_body(status="done"))
    with pytest.raises(ValidationError):
        RequestDetails.model_validate(request_body(requester={**request_body()["requester"], "type": "vp"}))


def test_each_event_type_has_one_topic() -> None:
    topics = Topics("x")
    assert topics.for_type("request.submitted") == topics.for_type("request.withdrawn") == "x.intake.requests"
    assert topics.for_type("request.classified") == "x.classifier.classifications"
    assert topics.for_type("request.backlogged") == "x.capacity.decisions"
    assert topics.for_type("notification.sent") == "x.notifier.notifications"


def test_derived_ids_are_stable_and_distinct() -> None:
    assert derived_id("a", "b") == derived_id("a", "b") != derived_id("ab")


def test_body_fingerprint_ignores_key_order_and_whitespace() -> None:
    assert fingerprint(b'{"a": 1, "b": 2}') == fingerprint(b'{"b":2,"a":1}')
    assert fingerprint(b'{"a": 1}') != fingerprint(b'{"a": 2}')

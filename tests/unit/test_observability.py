"""The committed AsyncAPI document is the code's; envelopes name their schema; log lines are JSON
with the ids and no secrets."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import httpx
from opentelemetry.sdk.trace import TracerProvider

from capacity.cycles import CYCLE_HELD
from capacity.flow.imports import IMPORTED
from shared.envelope import CONTRACT_ID, envelope
from shared.events import EVENT_TYPES, RequestSubmitted
from shared.observability.asyncapi import RECEIVES, document, page
from shared.observability.logs import configure_logging, log_context
from shared.observability.tracing import Tracing, memory_exporter
from shared.topics import Topics
from tests.contract import violations
from tests.infra import ROOT
from tests.support import details


def test_the_committed_asyncapi_document_is_the_one_the_code_generates() -> None:
    committed = json.loads((ROOT / "docs/asyncapi.json").read_text())
    assert committed == document(), "regenerate: make asyncapi"


def test_every_event_type_has_a_message_and_each_envelope_names_its_schema() -> None:
    doc = document()
    assert doc["asyncapi"] == "3.0.0" and doc["id"] == CONTRACT_ID
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert set(EVENT_TYPES) <= names
    sample = envelope(RequestSubmitted(request_id="r-1", request=details(), submitted_at=datetime.now(UTC),
                                       submitted_by="crm"), source="/tests")
    assert sample.dataschema == f"{CONTRACT_ID}#/components/schemas/RequestSubmitted"
    assert violations(sample.model_dump_json().encode()) == []
    broken = json.loads(sample.model_dump_json())
    broken["data"]["request"]["work_type"] = "poster"
    assert violations(json.dumps(broken).encode())


def test_every_topic_is_in_the_asyncapi_document_or_left_out_with_its_reason() -> None:
    doc = document(prefix="p")
    channels = {c["address"]: c for c in doc["channels"].values()}
    left_out = doc["x-topics-left-out"]
    assert set(Topics("p").all()) == set(channels) | set(left_out) and not set(channels) & set(left_out)
    assert all(why.strip() for why in left_out.values())
    for service in ("intake", "classifier", "capacity", "notifier"):
        replays = channels[Topics("p").replays(service)]
        assert [t["name"] for t in replays["tags"]] == ["internal"]
        consumed = {m for c in RECEIVES[service] for m in doc["channels"][c]["messages"]}
        assert set(replays["messages"]) == consumed, service
    assert {"p.notifier.subscriptions", "p.notifier.sends", "p.dlq.capacity"} <= set(left_out)


def test_the_asyncapi_page_is_a_plain_table_with_nothing_from_elsewhere() -> None:
    html = page(document())
    assert "<script" not in html and "governance.capacity.decisions" in html and "request.tradeoff_required" in html
    assert "governance.replay.capacity</code> (internal)" in html and "governance.notifier.sends" in html


def test_log_lines_are_json_with_service_ids_trace_and_no_secrets() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("capacity", "INFO", stream=stream)
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("handle") as span, \
                log_context(event_id="e-1", event_type="request.classified", request_id="r-1"):
            logging.getLogger("capacity.handlers").info("handled", extra={"authorization": "Bearer k-123"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["service"] == "capacity" and line["level"] == "info" and line["message"] == "handled"
    assert (line["event_id"], line["request_id"]) == ("e-1", "r-1")
    assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert line["authorization"] == "***" and "k-123" not in stream.getvalue()


async def test_a_post_to_a_secret_url_leaves_only_its_origin_in_logs_and_spans() -> None:
    # A Slack incoming webhook's path is its secret: neither httpx's log line nor the client span keeps it.
    secret_url = "https://hooks.slack.com/services/T000/B000/SECRET-TOKEN-123?sig=SECRET-QUERY"
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    tracing = Tracing("notifier", "memory")
    memory_exporter().clear()
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    tracing.instrument_httpx(client)
    try:
        configure_logging("notifier", "INFO", stream=stream)
        with tracing.tracer.start_as_current_span("send"):  # a send continues its event's trace
            assert (await client.post(secret_url, json={"text": "hi"})).status_code == 200
    finally:
        await client.aclose()
        root.handlers[:], level = saved
        root.setLevel(level)
    spans = [span for span in memory_exporter().get_finished_spans() if span.name == "POST"]
    assert spans, "the post made no client span"
    recorded = dict(spans[0].attributes or {})
    assert {recorded.get("http.url"), recorded.get("url.full")} - {None} == {"https://hooks.slack.com/"}
    assert "SECRET" not in str(recorded)
    assert "SECRET" not in stream.getvalue()


def test_the_internal_types_capacity_writes_on_its_public_decisions_topic_are_declared_internal() -> None:
    assert {IMPORTED, CYCLE_HELD} <= set(document()["channels"]["decisions"]["x-internal-types"])
    assert not {IMPORTED, CYCLE_HELD} & set(EVENT_TYPES)  # not part of the contract

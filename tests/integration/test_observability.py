"""What an operator sees, on the real broker and Redis: one request through the four services is one
trace (Kafka headers, the notifier's schedule, the email's and the webhook's headers), ``/metrics`` holds real values,
every record produced matches the AsyncAPI document, and each service serves that document."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace import ReadableSpan
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from capacity.app import create_app as create_capacity
from capacity.config import CapacitySettings
from classifier.app import create_app as create_classifier
from classifier.config import ClassifierSettings
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from notifier.app import create_app as create_notifier
from notifier.config import NotifierSettings
from shared.observability.asyncapi import document
from shared.observability.tracing import memory_exporter
from shared.topics import Topics
from tests.contract import channel_addresses, record_violations
from tests.infra import ROOT, Endpoints, admin_options, grant_topics
from tests.receivers import HttpReceiver, Mail, MailSink, Received
from tests.support import API_KEYS, AUTH, eventually, request_body, running

pytestmark = pytest.mark.integration

SERVICES = ("intake", "classifier", "capacity", "notifier")


@dataclass
class Run:
    trace_id: str
    caller_span: str
    prefix: str
    bootstrap: str
    spans: list[ReadableSpan] = field(default_factory=list)
    records: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    scrapes: dict[str, str] = field(default_factory=dict)
    hooks: list[Received] = field(default_factory=list)
    mails: list[Mail] = field(default_factory=list)
    served: dict[str, tuple[Any, httpx.Response]] = field(default_factory=dict)

    def in_trace(self) -> list[ReadableSpan]:
        return [s for s in self.spans if s.context is not None and f"{s.context.trace_id:032x}" == self.trace_id]


async def _tap(bootstrap: str, topics: list[str], into: list[tuple[str, bytes, dict[str, str]]]) -> None:
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, **admin_options())
    await consumer.start()
    try:
        async for record in consumer:
            headers = {k: v.decode() for k, v in record.headers}
            into.append((record.topic, record.value or b"", headers))
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
async def run(endpoints: Endpoints) -> Run:
    """One request, posted with the caller's ``traceparent``, through the four services to an email and
    a webhook; what the exporter, the topics, the receivers and ``/metrics`` saw afterwards."""
    redis_url = f"{endpoints.redis_base}/11"
    flush = Redis.from_url(redis_url)
    await flush.flushdb()
    await flush.aclose()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    await grant_topics(endpoints.kafka_bootstrap, prefix)
    common: dict[str, Any] = {"kafka_bootstrap": endpoints.kafka_bootstrap, "redis_url": redis_url,
                              "topic_prefix": prefix, "api_keys": API_KEYS, "tracing_exporter": "memory",
                              "lag_probe_s": 0.3, "handler_backoff_s": 0.05, "consume_commit_interval_ms": 200}
    exporter = memory_exporter()
    exporter.clear()
    found = Run(trace_id=secrets.token_hex(16), caller_span=secrets.token_hex(8), prefix=prefix,
                bootstrap=endpoints.kafka_bootstrap)
    tap = asyncio.create_task(_tap(endpoints.kafka_bootstrap, Topics(prefix).all(), found.records))
    async with MailSink() as sink, HttpReceiver() as hooks:
        notifier_settings = NotifierSettings(**common, smtp_host="127.0.0.1", smtp_port=sink.port,
                                             allow_private_targets=True, dispatch_poll_s=0.05,
                                             shutdown_grace_s=0.0, recipient_domains=["example.com"],
                                             secrets_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        apps = {"intake": create_intake(IntakeSettings(**common)),
                "classifier": create_classifier(ClassifierSettings(**common)),
                "capacity": create_capacity(CapacitySettings(**common)),
                "notifier": create_notifier(notifier_settings)}
        async with running(apps["intake"]) as intake, running(apps["classifier"]) as classifier, \
                running(apps["capacity"]) as capacity, running(apps["notifier"]) as notifier:
            clients = {"intake": intake, "classifier": classifier, "capacity": capacity, "notifier": notifier}
            subscribed = await notifier.post("/v1/subscriptions", json={
                "url": hooks.url, "event_types": ["request.scheduled", "request.backlogged"]})
            assert subscribed.status_code == 201, subscribed.text
            answer = await intake.post("/v1/requests", json=request_body(title="Traced landing page"), headers={
                **AUTH, "traceparent": f"00-{found.trace_id}-{found.caller_span}-01"})
            assert answer.status_code == 202, answer.text
            await sink.wait_for(1)
            found.hooks = await hooks.wait_for(1)
            await eventually(lambda: _settled(found), timeout=20)
            found.mails = list(sink.mail)
            await asyncio.sleep(1.0)  # a commit after the last batch, and a lag probe after that
            for name, client in clients.items():
                found.scrapes[name] = (await client.get("/metrics")).text
                found.served[name] = ((await client.get("/asyncapi.json")).json(), await client.get("/asyncapi"))
            found.spans = list(exporter.get_finished_spans())
    tap.cancel()
    await asyncio.gather(tap, return_exceptions=True)
    return found


async def _settled(found: Run) -> bool:
    """The webhook's send and an email's have ended (a span is exported once it ends)."""
    found.spans = list(memory_exporter().get_finished_spans())
    return {"send delivery", "send notification", "smtp send"} <= {s.name for s in found.in_trace()}


def _service(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("service.name"))


async def test_one_request_is_one_trace_through_the_four_services_to_the_email_and_the_webhook(run: Run) -> None:
    spans = run.in_trace()
    assert {_service(s) for s in spans} == set(SERVICES)
    # The caller's span is the root's parent; every other span's parent is in the trace: one tree.
    ids = {s.context.span_id for s in spans if s.context is not None}
    for span in spans:
        assert span.parent is not None, span.name
        assert span.parent.span_id in ids or f"{span.parent.span_id:016x}" == run.caller_span, span.name
    names = {(_service(s), s.name) for s in spans}
    assert ("intake", "POST /v1/requests") in names
    topics = Topics(run.prefix)
    for service, topic in [("classifier", topics.requests), ("capacity", topics.classifications),
                           ("notifier", topics.decisions)]:
        assert (service, f"{topic} process") in names
    # Both sends continue the trace from the notifier's schedule: the webhook's posts with it, and the
    # email's SMTP conversation is a span of its own under its send.
    assert {("notifier", "send delivery"), ("notifier", "POST"), ("notifier", "send notification"),
            ("notifier", "smtp send")} <= names
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    for smtp in (s for s in spans if s.name == "smtp send"):
        assert smtp.parent is not None and by_id[smtp.parent.span_id].name == "send notification"


async def test_the_trace_travels_in_kafka_headers_and_in_the_email_and_webhook_headers(run: Run) -> None:
    [hook] = run.hooks
    assert hook.headers["traceparent"].split("-")[1] == run.trace_id
    smtp_spans = {f"{s.context.span_id:016x}" for s in run.in_trace() if s.name == "smtp send" and s.context}
    assert run.mails
    for mail in run.mails:  # each names its SMTP send's span
        _, trace_id, span_id, _ = str(mail.message["traceparent"]).split("-")
        assert trace_id == run.trace_id and span_id in smtp_spans, mail.subject
    topics = Topics(run.prefix)
    on_the_path = {topics.requests, topics.classifications, topics.decisions}
    about_the_request = [h for topic, value, h in run.records
                         if topic in on_the_path and b"Traced landing page" in value]
    assert about_the_request
    assert all(h["traceparent"].split("-")[1] == run.trace_id for h in about_the_request)


async def test_every_record_of_the_run_matches_the_asyncapi_document(run: Run) -> None:
    # The topics the document describes (those it leaves out, such as dead letters, it names with why).
    addresses = channel_addresses(run.prefix)
    events = [(topic, value, headers) for topic, value, headers in run.records if topic in addresses]
    assert {json.loads(v)["type"] for _, v, _ in events} >= {
        "request.submitted", "request.classified", "notification.sent"}
    problems = [problem for topic, value, headers in events
                for problem in record_violations(run.prefix, topic, value, headers)]
    assert problems == []


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _exported(text: str) -> set[str]:
    """Every name a query may use: each family's samples, also those declared without samples yet."""
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if labels.items() <= found.items())


async def test_metrics_show_http_events_lag_outbox_and_each_services_state(run: Run) -> None:
    scraped = {name: _samples(text) for name, text in run.scrapes.items()}
    topics = Topics(run.prefix)
    assert _value(scraped["intake"], "http_requests_total", route="/v1/requests", method="POST", status="202") == 1
    assert _value(scraped["intake"], "http_request_duration_seconds_count", route="/v1/requests") == 1
    for name in SERVICES:
        assert _value(scraped[name], "governance_events_handled_total", outcome="handled") >= 1, name
        assert _value(scraped[name], "faststream_received_messages_total") >= 1, name
        assert "governance_consumer_lag" in scraped[name], name
        assert scraped[name]["governance_outbox_depth"] == [({}, 0.0)], name
        assert _value(scraped[name], "governance_state_up") == len(scraped[name]["governance_state_up"])
    assert _value(scraped["classifier"], "governance_events_handled_total", topic=topics.requests,
                  type="request.submitted", outcome="handled") == 1
    assert _value(scraped["capacity"], "governance_consumer_lag", topic=topics.classifications) == 0
    capacity = scraped["capacity"]
    assert _value(capacity, "capacity_committed_points", lane="sales") + _value(capacity, "capacity_backlog_depth") > 0
    assert _value(capacity, "capacity_cycle_points") > 0 and "capacity_open_tradeoffs" in capacity
    notifier = scraped["notifier"]
    assert _value(notifier, "notifier_sends_total", channel="webhook", outcome="sent") == 1
    assert _value(notifier, "notifier_sends_total", channel="email", outcome="sent") >= 1
    assert _value(notifier, "notifier_webhook_deliveries", status="succeeded") == 1
    assert {labels["state"] for labels, _ in notifier["notifier_schedule_jobs"]} == {"due", "waiting"}
    assert "notifier_oldest_due_seconds" in notifier


async def test_every_service_serves_the_asyncapi_document_and_its_page(run: Run) -> None:
    for name, (served, page) in run.served.items():
        assert served == document(run.bootstrap, run.prefix), name
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "request.submitted" in page.text and f"{run.prefix}.intake.requests" in page.text
        assert "<script" not in page.text and "http" not in re.sub(r'href="[^"]*"', "", page.text).lower()


_FUNCTIONS = {
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "histogram_quantile", "by", "without",
    "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "abs", "clamp_min",
    "clamp_max", "topk", "bottomk", "time", "vector", "scalar", "absent", "le", "delta", "deriv", "max_over_time",
    "min_over_time", "avg_over_time", "label_replace", "round", "sort_desc", "sort",
}


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL expression reads (labels, strings, durations and functions left out)."""
    text = re.sub(r'"[^"]*"', "", query)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    tokens = re.findall(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b(?!\s*\()", text)
    return {t for t in tokens if t not in _FUNCTIONS and not re.fullmatch(r"\d+[smhdwy]", t)}


def _queries() -> list[tuple[str, str]]:
    queries = []
    for path in sorted((ROOT / "deploy/prometheus").glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            queries += [(f"{path.name}: {rule['alert']}", rule["expr"]) for rule in group["rules"]]
    for path in sorted((ROOT / "deploy/grafana").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            queries += [(f"{path.name}: {panel['title']}", t["expr"]) for t in panel.get("targets", [])]
    return queries


async def test_every_dashboard_and_alert_query_names_a_metric_the_services_export(run: Run) -> None:
    exported = {name for text in run.scrapes.values() for name in _exported(text)}
    queries = _queries()
    assert len(queries) >= 10
    unknown = {(where, name) for where, query in queries for name in metric_names(query) if name not in exported}
    assert unknown == set()


def test_the_metric_name_reader_sees_through_promql() -> None:
    query = ('sum by (lane) (rate(notifier_sends_total{outcome="failed"}[5m])) / ignoring(x) '
             'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5')
    assert metric_names(query) == {"notifier_sends_total", "http_request_duration_seconds_bucket"}
    assert Path(ROOT / "deploy/prometheus/alerts.yml").exists()

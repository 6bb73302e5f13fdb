"""notifier: tells people and integrations what happened, once.

Consumes: every event of the public interface (requests, classifications, OKRs, capacity's
          decisions, its own notifications): the people's messages come from capacity's
          decisions, every event can go to webhook subscriptions.
Emits:    notification.sent, once a message to a person was sent (or was not, for want of a
          configured channel, a recipient off the allow-list or over its throttle, or because the
          request was withdrawn); and its own state, for a rebuild (``notifier.journal``): subscriptions
          (secrets sealed) on ``notifier.subscriptions``, notices and deliveries on ``notifier.sends``.
Sends:    email over SMTP, Slack incoming-webhook posts, and signed webhooks, from a durable
          schedule in Redis with retries; consuming only records.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from notifier import handlers
from notifier.api import deliveries_router, notifications_router
from notifier.asks import Asks
from notifier.config import NotifierSettings
from notifier.domain import Team
from notifier.journal import Journal
from notifier.messages import Composer, Links
from notifier.metrics import SendCounter, schedule_gauges
from notifier.sending.channels import EmailChannel, SlackChannel, SmtpServer, WebhookChannel
from notifier.sending.dispatch import Dispatcher
from notifier.sending.jobs import NotificationJob, RetryPolicy
from notifier.sending.recipients import Recipients
from notifier.sending.schedule import Schedule
from notifier.sending.webhook_job import DeliveryJob
from notifier.store import NotificationLog
from notifier.templates import Templates
from notifier.webhooks.api import subscriptions_router
from notifier.webhooks.deliveries import DeliveryLog
from notifier.webhooks.sealed import Sealer
from notifier.webhooks.subscriptions import SubscriptionStore
from shared.access import TEAM_ROLES, Role
from shared.auth import AUTH_RESPONSES
from shared.idempotency import IdempotencyKeys
from shared.links import LinkSigner
from shared.runtime import Runtime, build_runtime, subscribe, web_app

NAME = "notifier"


def _smtp(settings: NotifierSettings) -> SmtpServer | None:
    if settings.smtp_host is None:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpServer(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender,
                      sender_name=settings.team_name, starttls=settings.smtp_starttls,
                      username=settings.smtp_username, password=password)


def _dispatcher(settings: NotifierSettings, runtime: Runtime, notifications: NotificationLog,
                deliveries: DeliveryLog, subscriptions: SubscriptionStore, schedule: Schedule) -> Dispatcher:
    """The senders and their jobs. HTTP clients connect on first use and close when the dispatcher stops;
    webhooks keep no connection alive, so a connection made for one host name never carries another's."""
    timeout = settings.send_timeout_s
    slack_client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)
    webhook_client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                       limits=httpx.Limits(max_connections=None, max_keepalive_connections=0))
    for client in (slack_client, webhook_client):
        runtime.tracing.instrument_httpx(client)  # a span per post, and traceparent in its headers
    sends = SendCounter(runtime.metrics)

    mail = EmailChannel(_smtp(settings), timeout, runtime.tracing.tracer)

    async def close() -> None:
        await slack_client.aclose()
        await webhook_client.aclose()
        await mail.close()

    retry = RetryPolicy(settings.retry_schedule_s, settings.retry_jitter)
    slack = (sends.counted(SlackChannel(settings.slack_webhook_url, slack_client, timeout), "slack")
             if settings.slack_webhook_url else None)
    recipients = Recipients(runtime.redis, allowed_domains=settings.allowed_recipient_domains,
                            limit_per_hour=settings.recipient_limit_per_hour,
                            unthrottled=[settings.ops_email, settings.heat_shield_email])
    email = sends.counted(mail, "email")
    notify = NotificationJob(notifications, schedule, email=email, slack=slack,
                             recipients=recipients, retry=retry, outcomes=runtime.outcomes,
                             publisher=runtime.publisher, source=f"/{NAME}", kept_back=sends.kept_back)
    deliver = DeliveryJob(deliveries, subscriptions, schedule,
                          sends.counted(WebhookChannel(webhook_client, timeout,
                                                       allow_private=settings.allow_private_targets), "webhook"),
                          retry)
    return Dispatcher(schedule, {"notification": notify, "delivery": deliver}, concurrency=settings.send_concurrency,
                      lease_s=settings.lease_s, poll_s=settings.dispatch_poll_s, grace_s=settings.shutdown_grace_s,
                      on_stop=close, tracer=runtime.tracing.tracer)


def create_app(settings: NotifierSettings) -> FastAPI:
    runtime = build_runtime(NAME, settings)
    redis, topics = runtime.redis, runtime.topics
    journal = Journal(redis, runtime.publisher, source=f"/{NAME}")
    notifications = NotificationLog(redis, journal, update_window_s=settings.update_window_s)
    deliveries = DeliveryLog(redis, journal)
    subscriptions, schedule = SubscriptionStore(redis, journal, Sealer(settings.secrets_key)), Schedule(redis)
    dispatcher = _dispatcher(settings, runtime, notifications, deliveries, subscriptions, schedule)
    runtime.metrics.watch("schedule", schedule_gauges(redis))
    composer = Composer(Templates(), Team(ops=settings.ops_email, heat_shield=settings.heat_shield_email),
                        channels=settings.channels, team_name=settings.team_name,
                        slack_channel=settings.slack_channel if settings.slack_webhook_url else None,
                        links=Links(intake=settings.intake_public_url, capacity=settings.capacity_public_url,
                                    signer=LinkSigner(settings.link_secret.get_secret_value(), ttl_s=0)
                                    if settings.link_secret else None))
    consuming = handlers.Consuming(composer=composer, notifications=notifications, subscriptions=subscriptions,
                                   deliveries=deliveries, wake=dispatcher.wake,
                                   escalation_grace_s=settings.escalation_grace_s, asks=Asks(redis))
    subscribe(runtime, topics.consumed_by(NAME), consuming.routes(), consuming.runs())
    # What people were told: the team. Subscriptions and deliveries: ops.
    team, ops = runtime.access.allow(*TEAM_ROLES), runtime.access.allow(Role.OPS)
    routers = [
        notifications_router(notifications, read=team, guard_responses=AUTH_RESPONSES),
        subscriptions_router(subscriptions, deliveries, IdempotencyKeys(redis, NAME),
                             allow_private=settings.allow_private_targets, read=ops, manage=ops,
                             max_page_size=settings.max_page_size, guard_responses=AUTH_RESPONSES),
        deliveries_router(deliveries, subscriptions, wake=dispatcher.wake, read=ops, manage=ops,
                          max_page_size=settings.max_page_size, guard_responses=AUTH_RESPONSES),
    ]
    relay = (settings.outbox_relay_s, journal.flush)  # what a change left unpublished (Kafka was away)
    return web_app(runtime, routers, title="notifier", periodic=[(settings.dispatch_poll_s, dispatcher.run), relay],
                   description="What each person was told, and when; webhook subscriptions and their deliveries.")

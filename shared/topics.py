"""Kafka topic names, which events each carries, and the record-key rule.

One topic per owning service, keyed by request id, so all of one request's
events from one service stay in order on one partition.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONSUMES", "Topics", "record_key"]


# What each service consumes, by ``Topics`` property: its subscriptions, its ACLs and the AsyncAPI document.
CONSUMES: dict[str, tuple[str, ...]] = {
    "intake": ("requests", "classifications", "decisions", "notifications"),
    "classifier": ("requests", "okrs", "decisions"),
    "capacity": ("requests", "classifications", "okrs"),
    "notifier": ("requests", "classifications", "okrs", "decisions", "notifications"),
}


@dataclass(frozen=True)
class Topics:
    """Topic names under a prefix (tests use a fresh prefix for isolation)."""

    prefix: str = "governance"

    @property
    def requests(self) -> str:
        return f"{self.prefix}.intake.requests"

    @property
    def classifications(self) -> str:
        return f"{self.prefix}.classifier.classifications"

    @property
    def okrs(self) -> str:
        return f"{self.prefix}.classifier.okrs"

    @property
    def decisions(self) -> str:
        return f"{self.prefix}.capacity.decisions"

    @property
    def notifications(self) -> str:
        return f"{self.prefix}.notifier.notifications"

    @property
    def access_keys(self) -> str:
        """API keys as they are created and revoked: compacted, one partition, keyed by key id."""
        return f"{self.prefix}.access.keys"

    @property
    def subscriptions(self) -> str:
        """Webhook subscriptions as they change, secrets encrypted: compacted, keyed by subscription id."""
        return f"{self.prefix}.notifier.subscriptions"

    @property
    def sends(self) -> str:
        """The notifier's notices and webhook deliveries as they change: compacted, keyed by ``<kind>:<id>``."""
        return f"{self.prefix}.notifier.sends"

    def dead_letters(self, service: str) -> str:
        return f"{self.prefix}.dlq.{service}"

    def replays(self, service: str) -> str:
        """Dead letters an operator put back: the service's own topic, which it consumes with its inputs."""
        return f"{self.prefix}.replay.{service}"

    def all(self, services: tuple[str, ...] = ("intake", "classifier", "capacity", "notifier")) -> list[str]:
        """Every topic of the system, dead-letter topics included."""
        return [
            self.requests, self.classifications, self.okrs, self.decisions,
            self.notifications, self.access_keys, self.subscriptions, self.sends,
            *(self.dead_letters(s) for s in services),
            *(self.replays(s) for s in services),
        ]

    def owned_by(self, service: str) -> list[str]:
        """The topics ``service`` writes, whose retention it answers for."""
        owned = {
            "intake": [self.requests, self.access_keys],
            "classifier": [self.classifications, self.okrs],
            "capacity": [self.decisions],
            "notifier": [self.notifications, self.subscriptions, self.sends],
        }
        return [*owned.get(service, []), self.dead_letters(service), self.replays(service)]

    def consumed_by(self, service: str) -> list[str]:
        """The topics ``service`` subscribes to (its replay topic aside)."""
        return [getattr(self, name) for name in CONSUMES.get(service, ())]

    def read_by(self, service: str) -> list[str]:
        """The topics ``service`` may read: what it consumes, the API keys, and what it owns (its rebuild
        replays its own events and dead letters)."""
        return list(dict.fromkeys([*self.consumed_by(service), self.access_keys, *self.owned_by(service)]))

    def compacted(self) -> frozenset[str]:
        """Topics of keyed state, where the latest record per key is what counts."""
        return frozenset({self.access_keys, self.subscriptions, self.sends})

    def for_type(self, event_type: str) -> str:
        """The topic that carries events of ``event_type``."""
        if event_type in ("request.submitted", "request.withdrawn", "request.merged"):
            return self.requests
        if event_type == "request.classified":
            return self.classifications
        if event_type == "okrs.published":
            return self.okrs
        if event_type.startswith("apikey."):
            return self.access_keys
        if event_type == "notification.sent":
            return self.notifications
        if event_type == "notifier.subscription_recorded":
            return self.subscriptions
        if event_type in ("notifier.delivery_recorded", "notifier.notice_recorded"):
            return self.sends
        return self.decisions


def record_key(subject: str) -> bytes:
    """The Kafka record key is the CloudEvents subject: the request id for request events."""
    return subject.encode()

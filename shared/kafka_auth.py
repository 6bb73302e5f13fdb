"""How every Kafka client of a service authenticates: SASL/SCRAM-SHA-256 with the service's own user, or
plaintext when no user is configured (a broker without authentication)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faststream.security import BaseSecurity, SASLScram256

__all__ = ["KafkaAuth"]


@dataclass(frozen=True)
class KafkaAuth:
    username: str | None = None
    password: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.username)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producers, consumers and admin clients."""
        if not self.enabled:
            return {}
        return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
                "sasl_plain_username": self.username, "sasl_plain_password": self.password or ""}

    def broker_security(self) -> BaseSecurity | None:
        """The same, for FastStream's broker."""
        return SASLScram256(self.username, self.password or "") if self.enabled and self.username else None

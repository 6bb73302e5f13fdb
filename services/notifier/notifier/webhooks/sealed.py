"""Webhook signing secrets sealed for the log: Fernet (AES-128-CBC with HMAC-SHA256) under the deployment's
key (``NOTIFIER_SECRETS_KEY``), so whoever can read Kafka cannot sign as the notifier.

Redis, the working state, keeps the secret in clear for signing; only what leaves for the log is sealed.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

__all__ = ["KEY_HELP", "Sealer", "UnreadableSecret", "check_key"]

KEY_HELP = ("a Fernet key, 32 random bytes in url-safe base64; make one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")


class UnreadableSecret(ValueError):
    """A sealed secret that this deployment's key does not open (another key, or a damaged record)."""


def check_key(key: str) -> None:
    """Raise ValueError unless ``key`` is a Fernet key."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"NOTIFIER_SECRETS_KEY must be {KEY_HELP}") from exc


class Sealer:
    def __init__(self, key: SecretStr) -> None:
        self._fernet = Fernet(key.get_secret_value().encode())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise UnreadableSecret("a subscription's secret on the log does not open with NOTIFIER_SECRETS_KEY: "
                                   "it was sealed under another key, or the record is damaged") from exc

"""What each service's Kafka user may do, granted as ACLs by the super user.

    python -m shared.kafka_acls            (KAFKA_ACLS_BOOTSTRAP, KAFKA_ACLS_ADMIN_PASSWORD, KAFKA_ACLS_PREFIX)

For the topics under one prefix, each service (user ``intake``, ``classifier``, ``capacity``, ``notifier``):
- may describe every topic and create missing ones (each declares the whole topology at start), and read
  only what it consumes, the API keys and its own topics (``Topics.read_by``): the notifier's record of who
  was told what, for one, is nobody else's to read;
- may write only the topics it owns (``Topics.owned_by``): so only intake writes requests and API keys,
  and nobody can forge another service's events or mint a key;
- may use its own consumer group, and produce idempotently.

aiokafka's admin client has no ``create_acls``, and the Java tool costs a JVM start per call, so the
CreateAcls request is sent over aiokafka's protocol classes here.
"""

from __future__ import annotations

import asyncio
from enum import IntEnum

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.kafka_auth import KafkaAuth
from shared.topics import Topics

__all__ = ["SERVICES", "Acl", "grant", "grants_for"]

SERVICES = ("intake", "classifier", "capacity", "notifier")


class _Resource(IntEnum):
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class _Pattern(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class _Operation(IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10
    IDEMPOTENT_WRITE = 12


_ALLOW = 3
Acl = tuple[_Resource, str, _Pattern, str, _Operation]


def grants_for(prefix: str, service: str) -> list[Acl]:
    """The ACLs of one service for the topics under ``prefix``."""
    user = f"User:{service}"
    topics = Topics(prefix)
    every_topic = [(_Resource.TOPIC, f"{prefix}.", _Pattern.PREFIXED, user, op)
                   for op in (_Operation.DESCRIBE, _Operation.DESCRIBE_CONFIGS, _Operation.CREATE)]
    reads = [(_Resource.TOPIC, name, _Pattern.LITERAL, user, _Operation.READ) for name in topics.read_by(service)]
    own = [(_Resource.TOPIC, name, _Pattern.LITERAL, user, _Operation.WRITE) for name in topics.owned_by(service)]
    group = [(_Resource.GROUP, service, _Pattern.LITERAL, user, op) for op in (_Operation.READ, _Operation.DESCRIBE)]
    cluster = [(_Resource.CLUSTER, "kafka-cluster", _Pattern.LITERAL, user, op)
               for op in (_Operation.IDEMPOTENT_WRITE, _Operation.DESCRIBE)]
    return [*every_topic, *reads, *own, *group, *cluster]


async def grant(bootstrap: str, admin_password: str, prefix: str) -> int:
    """Create the ACLs of every service for ``prefix`` (creating one that exists changes nothing)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap,
                                **KafkaAuth("admin", admin_password).client_options())
    await admin.start()
    acls = [acl for service in SERVICES for acl in grants_for(prefix, service)]
    try:
        for resource, name, pattern, principal, operation in acls:
            request = CreateAclsRequest(resource, name, pattern, principal, "*", operation, _ALLOW)
            response = await admin._send_request(request)  # private, see the module docstring
            for code, message in response.creation_responses:
                if code:
                    raise RuntimeError(f"ACL {principal} {operation.name} on {name} refused: {code} {message}")
    finally:
        await admin.close()
    return len(acls)


class AclSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_ACLS_")
    bootstrap: str = "127.0.0.1:9092"
    admin_password: SecretStr
    prefix: str = "governance"


def main() -> None:
    settings = AclSettings()
    count = asyncio.run(grant(settings.bootstrap, settings.admin_password.get_secret_value(), settings.prefix))
    print(f"kafka_acls: {count} ACLs granted for the topics under {settings.prefix}.")


if __name__ == "__main__":
    main()

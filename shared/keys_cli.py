"""Issue, list and revoke API keys from a shell, straight on the keys topic (no running service needed).

    python -m shared.keys_cli create --tool crm --role requester_tool --lane sales [--team "Enterprise Sales"]
    python -m shared.keys_cli list
    python -m shared.keys_cli revoke key_0123456789abcdef

Reads ``KEYS_KAFKA_BOOTSTRAP`` and ``KEYS_TOPIC_PREFIX`` (defaults 127.0.0.1:9092, governance).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.access import ApiKeyCreated, ApiKeyRevoked, KeyRegistry, KeySpec, Role, issue
from shared.envelope import derived_id, envelope
from shared.events import LANES
from shared.kafka_auth import KafkaAuth
from shared.keyfeed import KeyFeed
from shared.topics import Topics, record_key


class KeysCliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEYS_")
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = "governance"
    # Only intake's Kafka user may write the keys topic: the CLI speaks as intake.
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None

    def kafka_auth(self) -> KafkaAuth:
        return KafkaAuth(self.kafka_username, self.kafka_password.get_secret_value() if self.kafka_password else None)


async def _registry(settings: KeysCliSettings) -> KeyRegistry:
    registry = KeyRegistry({}, epoch=datetime.now(UTC))
    feed = KeyFeed(registry, settings.kafka_bootstrap, Topics(settings.topic_prefix).access_keys, settings.kafka_auth())
    await feed.start()
    await feed.stop()
    return registry


async def _send(settings: KeysCliSettings, event: ApiKeyCreated | ApiKeyRevoked, event_id: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True,
                                **settings.kafka_auth().client_options())
    await producer.start()
    try:
        message = envelope(event, source="/keys-cli", event_id=event_id)
        await producer.send_and_wait(Topics(settings.topic_prefix).access_keys,
                                     message.model_dump_json().encode(), key=record_key(message.subject))
    finally:
        await producer.stop()


async def create(settings: KeysCliSettings, spec: KeySpec) -> dict[str, object]:
    secret, created = issue(spec, by="keys-cli", at=datetime.now(UTC))
    await _send(settings, created, derived_id(created.key.key_id, "created"))
    return {**created.key.public(), "key": secret}


async def revoke(settings: KeysCliSettings, key_id: str) -> dict[str, object] | None:
    record = (await _registry(settings)).get(key_id)
    if record is None:
        return None
    if record.revoked_at is None:
        revoked = ApiKeyRevoked(key_id=key_id, revoked_at=datetime.now(UTC), revoked_by="keys-cli")
        await _send(settings, revoked, derived_id(key_id, "revoked"))
    return record.public()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.keys_cli", description="API keys of the system.")
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("create", help="issue a key; its secret is printed once")
    made.add_argument("--tool", required=True)
    made.add_argument("--role", required=True, choices=[r.value for r in Role])
    made.add_argument("--lane", action="append", choices=list(LANES), help="a lane it may post for (repeat)")
    made.add_argument("--team", action="append", help="a team it may post for (repeat; default any)")
    made.add_argument("--rate-limit-per-minute", type=int)
    commands.add_parser("list", help="every key, without secrets")
    gone = commands.add_parser("revoke", help="revoke a key by its id")
    gone.add_argument("key_id")
    args = parser.parse_args(argv)
    settings = KeysCliSettings()
    if args.command == "create":
        spec = KeySpec(tool=args.tool, role=Role(args.role), lanes=tuple(args.lane) if args.lane else None,
                       teams=tuple(args.team) if args.team else None,
                       rate_limit_per_minute=args.rate_limit_per_minute)
        if (refused := spec.refusal()) is not None:
            parser.error(refused)
        print(json.dumps(asyncio.run(create(settings, spec)), indent=2))
    elif args.command == "list":
        print(json.dumps([r.public() for r in asyncio.run(_registry(settings)).all()], indent=2))
    else:
        found = asyncio.run(revoke(settings, args.key_id))
        if found is None:
            print(f"no key {args.key_id}", file=sys.stderr)
            return 1
        print(json.dumps(found, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

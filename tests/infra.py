"""Real Kafka and Redis for the tests: from the environment, from testcontainers, or native.

Order: TEST_KAFKA_BOOTSTRAP / TEST_REDIS_URL if set → testcontainers if a Docker
engine answers → the project's own scripts (native KRaft broker, redis-server).
If none works the session errors: integration tests never skip to green.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.kafka_acls import SERVICES, grant
from shared.kafka_auth import KafkaAuth

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    redis_base: str  # redis://host:port, no database
    how: str
    # Kafka users (SASL/SCRAM) by name, admin and the four services; empty for a broker without authentication.
    kafka_users: dict[str, str] = field(default_factory=dict)


def new_kafka_users() -> dict[str, str]:
    """A super user and one user per service, with fresh passwords."""
    return {name: secrets.token_urlsafe(16) for name in ("admin", *SERVICES)}


def use_kafka_users(users: dict[str, str]) -> None:
    """Every service's settings (and every process started from here) authenticate as that service."""
    for name in SERVICES:
        os.environ[f"{name.upper()}_KAFKA_USERNAME"] = name
        os.environ[f"{name.upper()}_KAFKA_PASSWORD"] = users[name]
    os.environ["KEYS_KAFKA_USERNAME"], os.environ["KEYS_KAFKA_PASSWORD"] = "intake", users["intake"]
    os.environ["TEST_KAFKA_ADMIN_PASSWORD"] = users["admin"]


def admin_options() -> dict[str, Any]:
    """aiokafka options for the tests' own clients (taps, publishers): the super user, when there is one."""
    password = os.environ.get("TEST_KAFKA_ADMIN_PASSWORD")
    return KafkaAuth("admin", password).client_options() if password else {}


async def grant_topics(bootstrap: str, prefix: str) -> None:
    """Each service's ACLs for the topics under ``prefix``, on a broker that authorizes."""
    password = os.environ.get("TEST_KAFKA_ADMIN_PASSWORD")
    if password:
        await grant(bootstrap, password, prefix)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    """Where the kernel's range of ports for outgoing connections starts."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free loopback port whose neighbour (port + 1) is free too (Kafka's controller), chosen below the
    kernel's ephemeral range when there is room: a port found free inside it can be taken by any outgoing
    connection before the process meant to listen there binds it (a test broker's controller lost its port
    so, under CI's load). 20000 and up leaves the default and the load benchmark's ports alone. A port (or its
    neighbour) handed out before is never handed out again by this process: a stack's four ports are chosen
    before any service binds one, and two picked alike made a service answer on another's port."""
    low, picker = _ephemeral_low() - 2, random.SystemRandom()
    while True:
        if low > 20_000:
            port = picker.randrange(20_000, low)
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
        if not {port, port + 1} & _HANDED_OUT and _free(port) and _free(port + 1):
            _HANDED_OUT.update((port, port + 1))
            return port


_HANDED_OUT: set[int] = set()  # ports ``free_port`` answered, and their neighbours


def docker_answers() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def from_containers(stack: ExitStack) -> Endpoints:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.redis import RedisContainer

    # Confluent's image of Apache Kafka 3.7, which testcontainers knows how to start in KRaft mode.
    kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft())
    redis = stack.enter_context(RedisContainer("redis:7"))
    host, port = redis.get_container_host_ip(), redis.get_exposed_port(6379)
    return Endpoints(kafka.get_bootstrap_server(), f"redis://{host}:{port}", "testcontainers")


class NativeKafka:
    """A broker this test session owns, which a test may stop and start again."""

    def __init__(self, data_dir: Path, port: int | None = None, users: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.users = users or {}

    def start(self) -> None:
        scram = " ".join(f"{name}={password}" for name, password in self.users.items())
        subprocess.run(["bash", str(ROOT / "scripts/kafka.sh"), "start", str(self.data_dir), str(self.port)],
                       check=True, env={**os.environ, "KAFKA_SCRAM_USERS": scram})

    def stop(self) -> None:
        subprocess.run(["bash", str(ROOT / "scripts/kafka.sh"), "stop", str(self.data_dir)], check=True)


class NativeRedis:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.base = f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        subprocess.run(["bash", str(ROOT / "scripts/redis.sh"), "start", str(self.data_dir),
                        str(self.port)], check=True)

    def stop(self) -> None:
        subprocess.run(["bash", str(ROOT / "scripts/redis.sh"), "stop", str(self.data_dir)], check=True)


def native(stack: ExitStack, workdir: Path) -> Endpoints:
    redis = NativeRedis(workdir / "redis")
    redis.start()
    stack.callback(redis.stop)
    users = new_kafka_users()
    kafka = NativeKafka(workdir / "kafka", users=users)
    kafka.start()
    stack.callback(kafka.stop)
    return Endpoints(kafka.bootstrap, redis.base, "native (SASL/SCRAM, ACLs)", users)

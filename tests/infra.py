"""Real Kafka and Redis for the tests: from the environment, from testcontainers, or native.

Order: TEST_KAFKA_BOOTSTRAP / TEST_REDIS_URL if set → testcontainers if a Docker
engine answers → the project's own scripts (native KRaft broker, redis-server).
If none works the session errors: integration tests never skip to green.
"""

from __future__ import annotations

import socket
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    redis_base: str  # redis://host:port, no database
    how: str


def free_port() -> int:
    """A free loopback port whose neighbour (port + 1) is free too (Kafka's controller)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


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

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        subprocess.run(["bash", str(ROOT / "scripts/kafka.sh"), "start", str(self.data_dir),
                        str(self.port)], check=True)

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
    kafka = NativeKafka(workdir / "kafka")
    kafka.start()
    stack.callback(kafka.stop)
    return Endpoints(kafka.bootstrap, redis.base, "native")

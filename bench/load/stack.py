"""The benchmark's own native stack: ``scripts/stack.sh`` on ports shifted away from the default stack's,
with its data, logs and pids under ``.run/bench-load/stack`` (wiped first, so every run starts fresh),
the sample OKRs published, and a key of its own. It shares only the checkout's credentials in ``.run/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.kafka_auth import KafkaAuth

__all__ = ["BenchStack", "create_topic", "issue_key", "publish_okrs", "sample_okrs"]

# The default stack's ports (scripts/stack.sh), and the benchmark's two baselines.
DEFAULT_PORTS = {"kafka": 9092, "redis": 6379, "intake": 8001, "classifier": 8002, "capacity": 8003,
                 "notifier": 8004, "mail": 8025, "bare": 8091, "kafka_baseline": 8092}
_STACK_VARIABLES = {"kafka": "KAFKA_PORT", "redis": "REDIS_PORT", "intake": "INTAKE_PORT",
                    "classifier": "CLASSIFIER_PORT", "capacity": "CAPACITY_PORT", "notifier": "NOTIFIER_PORT",
                    "mail": "MAIL_PORT"}


@dataclass(frozen=True)
class BenchStack:
    root: Path
    run_dir: Path
    port_offset: int

    def port(self, name: str) -> int:
        return DEFAULT_PORTS[name] + self.port_offset

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port(name)}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port('kafka')}"

    def _env(self) -> dict[str, str]:
        ports = {variable: str(self.port(name)) for name, variable in _STACK_VARIABLES.items()}
        # The corpus's requesters are the product brief's few people, each posting hundreds of requests a
        # minute: under the per-person throttle (30 emails an hour) nearly every notice would be kept back,
        # which would measure the throttle, not the pipeline's sending.
        return {**os.environ, **ports, "STACK_MODE": "native", "STACK_RUN_DIR": str(self.run_dir / "stack"),
                "NOTIFIER_RECIPIENT_LIMIT_PER_HOUR": "1000000"}

    def taken_ports(self) -> list[int]:
        """Ports this stack needs that something already listens on (Kafka's controller is the next one)."""
        wanted = [*(self.port(name) for name in DEFAULT_PORTS), self.port("kafka") + 1]
        taken = []
        for port in wanted:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    taken.append(port)
        return taken

    def stop_leftovers(self) -> None:
        """Stops what an earlier run that did not end cleanly (killed, a lost terminal) left running, by the
        pids it wrote under ``run_dir``: its stack (``stack.sh down``) and its baselines."""
        if not self.run_dir.exists():
            return
        for pidfile in self.run_dir.glob("baseline-*.pid"):
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            pidfile.unlink()
        if (self.run_dir / "stack").exists():
            self.down()

    def up(self) -> None:
        """A fresh stack: wipes what a previous run left, then ``stack.sh up`` (its output in stack.log)."""
        shutil.rmtree(self.run_dir, ignore_errors=True)
        (self.run_dir / "stack").mkdir(parents=True)
        with (self.run_dir / "stack.log").open("w") as log:
            subprocess.run(["bash", "scripts/stack.sh", "up"], cwd=self.root, env=self._env(), stdout=log,
                           stderr=subprocess.STDOUT, check=True)

    def down(self) -> None:
        with (self.run_dir / "stack.log").open("a") as log:
            subprocess.run(["bash", "scripts/stack.sh", "down"], cwd=self.root, env=self._env(), stdout=log,
                           stderr=subprocess.STDOUT, check=False)

    def dev_key(self) -> str:
        return (self.root / ".run/dev-api-key").read_text().strip()

    def admin(self) -> KafkaAuth:
        """The stack's Kafka super user, from the credentials ``stack.sh`` made."""
        for line in (self.root / ".run/kafka-users").read_text().splitlines():
            user, _, password = line.partition("=")
            if user == "admin":
                return KafkaAuth("admin", password)
        raise RuntimeError(".run/kafka-users has no admin user")


def sample_okrs(path: Path) -> dict[str, Any]:
    """The sample OKR set as the current quarter's (what ``make demo`` publishes)."""
    today = date.today()
    return {**json.loads(path.read_text()), "quarter": f"{today.year}-Q{(today.month - 1) // 3 + 1}"}


async def publish_okrs(client: httpx.AsyncClient, classifier: str, dev_key: str, okrs: dict[str, Any]) -> None:
    quarter = okrs["quarter"]
    (await client.put(f"{classifier}/v1/okrs/{quarter}", json=okrs,
                      headers={"Authorization": f"Bearer {dev_key}"})).raise_for_status()


async def issue_key(client: httpx.AsyncClient, intake: str, dev_key: str) -> str:
    """An ops key of the benchmark's own, above any rate it offers (the dev key keeps the default limit)."""
    made = await client.post(f"{intake}/v1/keys", headers={"Authorization": f"Bearer {dev_key}"},
                             json={"tool": "bench-load", "role": "ops", "rate_limit_per_minute": 100_000})
    made.raise_for_status()
    key: str = made.json()["key"]
    return key


async def create_topic(bootstrap: str, auth: KafkaAuth, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()

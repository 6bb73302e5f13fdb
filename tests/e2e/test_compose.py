"""The Docker path, proven without a Docker engine.

1. ``docker-compose.yml`` validates against the Compose Specification's JSON schema (vendored in
   ``deploy/compose-spec/``), and keeps the rules of a safe local stack.
2. Each service's container command runs natively with the compose file's own environment, against the
   native Kafka and Redis, and the container's healthcheck command passes. The only rewrites are the
   ones Docker's network would do: service host names (``kafka``, ``redis``, ``mailsink``) become this
   machine's endpoints, and listening ports and topics become free ones, so a running stack is not touched.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from classifier.similarity.sentence import bge_dir
from tests.infra import ROOT, Endpoints, free_port

pytestmark = pytest.mark.e2e

COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "deploy/compose-spec/compose-spec.json"
SERVICES = ("intake", "classifier", "capacity", "notifier")
DEV_KEY = "compose-test-key-0123456789"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _variables(endpoints: Endpoints) -> dict[str, str]:
    """What ``make up`` exports for compose: the dev key, the secrets key, the Kafka users' passwords."""
    users = endpoints.kafka_users
    assert users, "the compose test needs a broker that authenticates (the native one does)"
    return {"DEV_API_KEY": DEV_KEY, "NOTIFIER_SECRETS_KEY": os.environ["NOTIFIER_SECRETS_KEY"],
            "FORM_API_KEY": "compose-form-key-0123456789", "LINK_SECRET": "compose-link-secret-0123456789abcdefghijkl",
            **{f"KAFKA_{name.upper()}_PASSWORD": password for name, password in users.items()}}


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}`` / ``${VAR:?message}`` interpolation; ``$$`` is a literal ``$``."""
    def one(match: re.Match[str]) -> str:
        assert match.group(1) in variables, f"compose needs {match.group(1)}"
        return variables[match.group(1)]

    return re.sub(r"(?<!\$)\$\{(\w+)(?::\?[^}]*)?\}", one, value).replace("$$", "$")


def test_the_compose_file_validates_against_the_compose_specification() -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(_compose())]
    print(f"\n{COMPOSE.name} against the Compose Specification: {len(errors)} error(s)")
    assert errors == []


def test_the_compose_stack_is_pinned_private_and_never_evicts_state() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
        if "image" in service:
            assert re.search(r":\d+(\.\d+)+", service["image"]), f"{name}'s image {service['image']} floats"
        assert "pip install" not in json.dumps(service.get("command", "")), f"{name} installs at start"
        assert "healthcheck" in service or service.get("restart") == "no", f"{name} has no healthcheck"
    redis = " ".join(services["redis"]["command"])
    assert "--maxmemory-policy noeviction" in redis and "--maxmemory " in redis
    # The door first: the pipeline behind intake yields the CPU to it, to Kafka and to Redis.
    share = {name: int(service.get("cpu_shares", 1024)) for name, service in services.items()}
    assert max(share[s] for s in ("classifier", "capacity", "notifier")) < min(
        share[s] for s in ("intake", "kafka", "redis")), share
    for dockerfile in (ROOT / "Dockerfile", ROOT / "deploy/mailsink/Dockerfile"):
        base = re.search(r"^FROM (\S+)", dockerfile.read_text(), re.M)
        assert base and re.search(r":\d+\.\d+\.\d+", base.group(1)), f"{dockerfile} base image floats"
        # useradd fails the build on a name the Debian base image already has (its base-passwd users).
        for user in re.findall(r"useradd\b[^&\n]*?\s([a-z_][a-z0-9_-]*)\s*(?:&&|$)", dockerfile.read_text(), re.M):
            assert user not in _DEBIAN_USERS, f"{dockerfile} adds the user {user}, which the base image has"
    # The classifier's image holds its second sentence model, fetched and checked at build, where the service
    # looks for it (/app/.cache/models, as .cache/models in this checkout).
    assert re.search(r'^RUN if \[ "\$SERVICE" = classifier \]; then python scripts/fetch_model\.py; fi$',
                     (ROOT / "Dockerfile").read_text(), re.M)
    assert bge_dir() == ROOT / ".cache/models/bge-small-en-v1.5-q"


# Debian bookworm's base-passwd (/usr/share/base-passwd/passwd.master), and apt's own user.
_DEBIAN_USERS = frozenset({"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
                           "proxy", "www-data", "backup", "list", "irc", "nobody", "_apt"})


def _native_env(name: str, environment: dict[str, Any], kafka: str, redis_base: str, mail_port: int,
                variables: dict[str, str]) -> dict[str, str]:
    env = {key: _interpolate(str(value), variables) for key, value in environment.items()}
    upper = name.upper()
    for key, value in list(env.items()):
        value = value.replace("kafka:19092", kafka)
        value = re.sub(r"redis://redis:6379/(\d+)", lambda m: f"{redis_base}/{12 + int(m.group(1))}", value)
        env[key] = value
    if f"{upper}_SMTP_HOST" in env:
        env[f"{upper}_SMTP_HOST"], env[f"{upper}_SMTP_PORT"] = "127.0.0.1", str(mail_port)
    env[f"{upper}_HOST"] = "127.0.0.1"
    env[f"{upper}_PORT"] = str(free_port())
    return env


def _dockerfile_pythonpath(service: str) -> str:
    """The image's PYTHONPATH, with /app being this checkout."""
    line = re.search(r"PYTHONPATH=(\S+)", (ROOT / "Dockerfile").read_text())
    assert line, "the Dockerfile sets no PYTHONPATH"
    return line.group(1).replace("${SERVICE}", service).replace("/app", str(ROOT))


def _healthy(test: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    kind, *command = test
    assert kind == "CMD", f"healthcheck {test} is not an exec-form CMD"
    if command[0] == "python":
        command[0] = sys.executable
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=10, check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The mail sink's container command, run natively on a free port."""
    service = _compose()["services"]["mailsink"]
    dockerfile = (ROOT / "deploy/mailsink/Dockerfile").read_text()
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)[-1])
    port = free_port()
    cmd = [sys.executable if c == "python" else c.replace("0.0.0.0:8025", f"127.0.0.1:{port}") for c in cmd]
    with (tmp_path / "mail.log").open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield port, service
    finally:
        process.terminate()
        process.wait(timeout=10)


LIBS = ROOT / ".cache/kafka-3.9.1/libs"


def _java(main: str) -> str:
    return shlex.join(["java", "-Xms128m", "-Xmx512m", "-cp", f"{LIBS}/*", main])


@pytest.fixture
def compose_kafka(tmp_path: Path, endpoints: Endpoints) -> Iterator[tuple[str, dict[str, str]]]:
    """The compose file's Kafka command, run natively: its own properties, SCRAM users formatted in, SASL
    listeners and ACLs. Host names and ports become loopback ones, the image's tools their Java classes."""
    variables = _variables(endpoints)
    service = _compose()["services"]["kafka"]
    internal, external, controller = free_port(), free_port(), free_port()
    data = tmp_path / "kafka"
    data.mkdir()
    rewrites = {
        "kafka:9093": f"127.0.0.1:{controller}", "kafka:19092": f"127.0.0.1:{internal}",
        "localhost:9092": f"127.0.0.1:{external}", "://:19092": f"://127.0.0.1:{internal}",
        "://:9092": f"://127.0.0.1:{external}", "://:9093": f"://127.0.0.1:{controller}",
        "/var/lib/kafka/data": str(data / "data"), "/tmp/": f"{data}/",
        "/opt/kafka/bin/kafka-storage.sh": _java("kafka.tools.StorageTool"),
        "/opt/kafka/bin/kafka-server-start.sh": _java("kafka.Kafka"),
        "/opt/kafka/bin/kafka-broker-api-versions.sh": _java("kafka.admin.BrokerApiVersionsCommand"),
    }

    def native(text: str) -> str:
        text = _interpolate(text, variables)
        for old, new in rewrites.items():
            text = text.replace(old, new)
        return text

    env = {**os.environ, **{k: _interpolate(str(v), variables) for k, v in service["environment"].items()}}
    with (data / "kafka.log").open("wb") as log:
        process = subprocess.Popen(["sh", "-c", native(service["command"][2])], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        kind, check = service["healthcheck"]["test"]
        assert kind == "CMD-SHELL"
        deadline = time.monotonic() + 120
        while subprocess.run(["sh", "-c", native(check)], check=False, timeout=60).returncode != 0:
            assert process.poll() is None, f"the compose Kafka exited; see {data / 'kafka.log'}"
            assert time.monotonic() < deadline, f"the compose Kafka's healthcheck never passed; see {data}"
            time.sleep(1)
        yield f"127.0.0.1:{internal}", variables
    finally:
        process.terminate()
        process.wait(timeout=60)


def _grant_acls(kafka: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The compose file's one-shot ``kafka-acls`` service, run natively."""
    acls = _compose()["services"]["kafka-acls"]
    env = {**os.environ, **{k: _interpolate(str(v), variables) for k, v in acls["environment"].items()}}
    env["KAFKA_ACLS_BOOTSTRAP"] = env["KAFKA_ACLS_BOOTSTRAP"].replace("kafka:19092", kafka)
    command = [sys.executable if c == "python" else c for c in acls["command"]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)


def test_each_service_runs_natively_with_the_compose_environment_and_passes_its_healthcheck(
        endpoints: Endpoints, tmp_path: Path, mail_sink: tuple[int, dict[str, Any]],
        compose_kafka: tuple[str, dict[str, str]]) -> None:
    """Compose's Kafka (authenticating), its ACL grant, the mail sink, then each service with its compose
    environment (its own Kafka user, the default topics), each healthcheck passing."""
    kafka, variables = compose_kafka
    mail_port, mail_service = mail_sink
    test = [c.replace("8025", str(mail_port)) for c in mail_service["healthcheck"]["test"]]
    assert _healthy(test, dict(os.environ), 30).returncode == 0, "the mail sink's healthcheck failed"
    granted = _grant_acls(kafka, variables)
    assert granted.returncode == 0, granted.stderr
    print(f"\n  kafka: healthy\n  kafka-acls: {granted.stdout.strip()}")
    services = _compose()["services"]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    results: dict[str, str] = {}
    try:
        for name in SERVICES:
            own = _native_env(name, services[name]["environment"], kafka, endpoints.redis_base, mail_port, variables)
            env = {**{k: v for k, v in os.environ.items() if not k.startswith(f"{name.upper()}_")},
                   **own, "SERVICE": name, "PYTHONPATH": _dockerfile_pythonpath(name)}
            command = [sys.executable, "-m", name]  # the image's CMD: exec python -m "$SERVICE"
            with (tmp_path / f"{name}.log").open("wb") as log:
                processes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            health = _healthy(services[name]["healthcheck"]["test"], env, 90)
            results[name] = "healthy" if health.returncode == 0 else f"unhealthy: {health.stderr.strip()}"
            image_check = shlex.split(re.findall(r"HEALTHCHECK .* CMD (.+)$",
                                                 (ROOT / "Dockerfile").read_text(), re.M)[0])
            image_health = _healthy(["CMD", *[c.replace('"$SERVICE"', name).replace("$SERVICE", name)
                                               for c in image_check]], env, 10)
            results[f"{name} (image HEALTHCHECK)"] = "healthy" if image_health.returncode == 0 else "unhealthy"
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
    print("\n" + "\n".join(f"  {name}: {state}" for name, state in results.items()))
    assert all(state == "healthy" for state in results.values()), results

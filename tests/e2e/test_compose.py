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

from tests.infra import ROOT, Endpoints, free_port

pytestmark = pytest.mark.e2e

COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "deploy/compose-spec/compose-spec.json"
SERVICES = ("intake", "classifier", "capacity", "notifier")
DEV_KEY = "compose-test-key-0123456789"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _interpolate(value: str) -> str:
    """Compose's ``${VAR}`` / ``${VAR:?message}`` interpolation, for the one variable the file uses."""
    return re.sub(r"\$\{DEV_API_KEY(:\?[^}]*)?\}", DEV_KEY, value)


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
        assert "healthcheck" in service, f"{name} has no healthcheck"
    redis = " ".join(services["redis"]["command"])
    assert "--maxmemory-policy noeviction" in redis and "--maxmemory " in redis
    for dockerfile in (ROOT / "Dockerfile", ROOT / "deploy/mailsink/Dockerfile"):
        base = re.search(r"^FROM (\S+)", dockerfile.read_text(), re.M)
        assert base and re.search(r":\d+\.\d+\.\d+", base.group(1)), f"{dockerfile} base image floats"


def _native_env(name: str, environment: dict[str, Any], endpoints: Endpoints, mail_port: int,
                prefix: str) -> dict[str, str]:
    env = {key: _interpolate(str(value)) for key, value in environment.items()}
    upper = name.upper()
    for key, value in list(env.items()):
        value = value.replace("kafka:19092", endpoints.kafka_bootstrap)
        value = re.sub(r"redis://redis:6379/(\d+)", lambda m: f"{endpoints.redis_base}/{12 + int(m.group(1))}",
                       value)
        env[key] = value
    if f"{upper}_SMTP_HOST" in env:
        env[f"{upper}_SMTP_HOST"], env[f"{upper}_SMTP_PORT"] = "127.0.0.1", str(mail_port)
    env[f"{upper}_HOST"] = "127.0.0.1"
    env[f"{upper}_PORT"] = str(free_port())
    env[f"{upper}_TOPIC_PREFIX"] = prefix
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


def test_each_service_runs_natively_with_the_compose_environment_and_passes_its_healthcheck(
        endpoints: Endpoints, tmp_path: Path, mail_sink: tuple[int, dict[str, Any]]) -> None:
    mail_port, mail_service = mail_sink
    test = [c.replace("8025", str(mail_port)) for c in mail_service["healthcheck"]["test"]]
    assert _healthy(test, dict(os.environ), 30).returncode == 0, "the mail sink's healthcheck failed"
    services = _compose()["services"]
    prefix = f"compose{os.getpid()}"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    results: dict[str, str] = {}
    try:
        for name in SERVICES:
            env = {**os.environ, **_native_env(name, services[name]["environment"], endpoints, mail_port, prefix),
                   "SERVICE": name, "PYTHONPATH": _dockerfile_pythonpath(name)}
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

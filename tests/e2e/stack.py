"""The four services as real processes (``python -m <service>``), as ``make up`` runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.infra import ROOT, free_port, grant_topics
from tests.support import API_KEYS

SERVICES = ("intake", "classifier", "capacity", "notifier")
LINK_SECRET = "e2e-link-secret-0123456789abcdef"  # signs the links to a request in notices (intake, notifier)


class ServiceProcess:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = int(env[f"{name.upper()}_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = env
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen([sys.executable, "-m", self.name], env=self._env,
                                          stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self._log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout}s; see {self._log}")

    def run(self, module: str, timeout: float = 120) -> str:
        """``python -m <module>`` with this service's environment (an operator's command); its output."""
        done = subprocess.run([sys.executable, "-m", module], env=self._env, cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout + done.stderr

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit, as in a crash."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    @property
    def returncode(self) -> int | None:
        """How the process ended (negative: the signal that ended it); None while it runs."""
        return None if self._proc is None else self._proc.poll()

    def resident_kib(self) -> int:
        assert self._proc is not None
        status = Path(f"/proc/{self._proc.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


def stack(kafka_bootstrap: str, redis_base: str, topic_prefix: str, logs: Path,
          extra: dict[str, str] | None = None) -> dict[str, ServiceProcess]:
    """The four services on free ports, one Redis database each, fresh topics (each service granted its ACLs
    on them); ``extra`` settings for each."""
    asyncio.run(grant_topics(kafka_bootstrap, topic_prefix))
    processes = {}
    for db, name in enumerate(SERVICES, start=12):
        upper = name.upper()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "services" / name)]),
            f"{upper}_PORT": str(free_port()),
            f"{upper}_KAFKA_BOOTSTRAP": kafka_bootstrap,
            f"{upper}_REDIS_URL": f"{redis_base}/{db}",
            f"{upper}_TOPIC_PREFIX": topic_prefix,
            f"{upper}_API_KEYS": __import__("json").dumps(API_KEYS),
            f"{upper}_HANDLER_BACKOFF_S": "0.05",
            f"{upper}_HANDLER_BACKOFF_MAX_S": "1",
            **{f"{upper}_{setting}": value for setting, value in (extra or {}).items()},
        }
        processes[name] = ServiceProcess(name, env, logs / f"{name}.log")
    # The people's pages and notices name the other services' addresses; intake and the notifier share the
    # secret of signed links. A requester's later updates about a request wait 2 s, not the hour they wait
    # in use: a test that waits for every notice to be sent would wait that hour when a request is
    # backlogged twice. A module's ``extra`` settings still win.
    urls = {name: process.url for name, process in processes.items()}
    public = {"INTAKE_CLASSIFIER_PUBLIC_URL": urls["classifier"], "INTAKE_LINK_SECRET": LINK_SECRET,
              "CLASSIFIER_CORS_ORIGINS": __import__("json").dumps([urls["intake"]]),
              "NOTIFIER_INTAKE_PUBLIC_URL": urls["intake"], "NOTIFIER_CAPACITY_PUBLIC_URL": urls["capacity"],
              "NOTIFIER_LINK_SECRET": LINK_SECRET, "NOTIFIER_UPDATE_WINDOW_S": "2"}
    for name, process in processes.items():
        for variable, value in public.items():
            if variable.startswith(f"{name.upper()}_") and variable.split("_", 1)[1] not in (extra or {}):
                process._env[variable] = value
    return processes

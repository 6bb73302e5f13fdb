"""CPU time each of the stack's processes spent, read from ``/proc``: the figure a shared, noisy machine
does not blur. Wall-clock latency grows with whatever else runs; the CPU seconds a process used per
accepted request do not, so they say where a request's cost is, and what a faster pipeline saved."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuMeter"]

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float | None:
    """User plus system CPU seconds of ``pid`` and its finished children, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command: state is field 3, so utime, stime, cutime, cstime are fields 14-17 (index 11-14).
    return sum(int(v) for v in fields[11:15]) * _TICK_S


@dataclass(frozen=True)
class CpuMeter:
    """The processes whose pid files the stack keeps under ``run_dir`` (services, Kafka, Redis, mail sink)."""

    run_dir: Path

    def processes(self) -> dict[str, int]:
        found = {}
        for pidfile in sorted(self.run_dir.rglob("*.pid")):
            try:
                found[pidfile.stem] = int(pidfile.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        return found

    def read(self) -> dict[str, float]:
        return {name: cpu for name, pid in self.processes().items() if (cpu := _cpu_s(pid)) is not None}

    @staticmethod
    def per_request_ms(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
        """Milliseconds of CPU each process spent per accepted request between two readings."""
        if requests <= 0:
            return {}
        return {name: round((after[name] - before[name]) * 1000 / requests, 1) for name in after if name in before}

"""One open-loop attack with vegeta: a constant rate, whatever the answers' latency, and every result.

Open loop matters: a closed loop (N clients, each waiting for its answer) slows down with the system
under test and hides the queue that users would meet.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["Result", "attack"]


@dataclass(frozen=True)
class Result:
    """One request as vegeta saw it: when it was sent (epoch seconds), its latency, status and body."""

    sent: float
    latency: float
    code: int
    request_id: str | None


def _request_id(body_b64: str) -> str | None:
    try:
        found = json.loads(base64.b64decode(body_b64))
    except ValueError:
        return None
    return found.get("id") if isinstance(found, dict) else None


def _parse(line: str) -> Result:
    raw = json.loads(line)
    sent = datetime.fromisoformat(raw["timestamp"]).timestamp()  # RFC 3339, nanoseconds cut to micro
    code = int(raw["code"])
    return Result(sent=sent, latency=raw["latency"] / 1e9, code=code,
                  request_id=_request_id(raw.get("body") or "") if code == 202 else None)


async def _run(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(*args, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed ({process.returncode}): {err.decode()[-500:]}")


async def attack(vegeta: str, targets: Path, *, rate: int, seconds: int, out: Path,
                 workers: int | None = None) -> list[Result]:
    """Send ``rate`` requests a second for ``seconds`` from ``targets``; the results in send order.
    With ``workers`` instead, no rate: that many clients, each sending as soon as answered (closed loop)."""
    binary, lines = out.with_suffix(".bin"), out.with_suffix(".jsonl")
    pace = [f"-rate={rate}/s", "-max-workers=2000"] if workers is None else [
        "-rate=0", f"-workers={workers}", f"-max-workers={workers}"]
    await _run(vegeta, "attack", "-format=json", f"-targets={targets}", *pace,
               f"-duration={seconds}s", "-timeout=30s", f"-output={binary}")
    await _run(vegeta, "encode", "--to", "json", f"--output={lines}", str(binary))
    results = [_parse(line) for line in lines.read_text().splitlines() if line.strip()]
    return sorted(results, key=lambda r: r.sent)

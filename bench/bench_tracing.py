"""What tracing costs: the pipeline benchmark on a fresh native stack, with tracing off and on, alternating.

    python bench/bench_tracing.py [--runs 3] [--sequential 30] [--burst 200] [--concurrency 20]

Each run starts a fresh native stack (``scripts/stack.sh up`` on the default ports, its data in a new
directory), runs ``bench/bench_pipeline.py`` against it and stops it. "off" runs the services with
``*_TRACING_EXPORTER=none``; "on" with ``otlp``: every span recorded, batched, encoded and posted to
``bench/otlp_sink.py``, which accepts and discards it, so the cost is the services' and not a
collector's. Runs alternate (off, on, on, off, ...) so drift on the machine falls on both. Prints each
run, then the medians and the ratio on / off. Needs the default ports free (``make down`` first).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "classifier", "capacity", "notifier")
SINK_PORT = 4318


def _stack(action: str, env: dict[str, str]) -> None:
    subprocess.run(["bash", "scripts/stack.sh", action], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _exports() -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{SINK_PORT}/", timeout=5) as answer:
        return dict(json.load(answer))


def _found(pattern: str, printed: str) -> tuple[str, ...]:
    match = re.search(pattern, printed, re.S)
    if match is None:
        raise RuntimeError(f"bench_pipeline printed nothing like {pattern!r}:\n{printed}")
    return match.groups()


def one_run(tracing: bool, bench_args: list[str], run_dir: Path) -> dict[str, float]:
    exporter = "otlp" if tracing else "none"
    env = {**os.environ, "STACK_MODE": "native", "STACK_RUN_DIR": str(run_dir),
           **{f"{s.upper()}_TRACING_EXPORTER": exporter for s in SERVICES},
           **{f"{s.upper()}_TRACING_OTLP_ENDPOINT": f"http://127.0.0.1:{SINK_PORT}/v1/traces" for s in SERVICES}}
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench/otlp_sink.py"), "--port", str(SINK_PORT)]) \
        if tracing else None
    try:
        _stack("up", env)
        done = subprocess.run([sys.executable, str(ROOT / "bench/bench_pipeline.py"), *bench_args], cwd=ROOT,
                              env=env, check=True, capture_output=True, text=True)
        time.sleep(6)  # the batch processors export every 5 s: count what the run produced
        exported = _exports() if tracing else {"exports": 0, "bytes": 0}
    finally:
        _stack("down", env)
        if sink is not None:
            sink.terminate()
            sink.wait()
    burst, elapsed = _found(r"burst, (\d+) requests.*?all notified in ([\d.]+) s", done.stdout)
    [p50] = _found(r"sequential.*?POST -> email sent\s+p50\s+([\d.]+) ms", done.stdout)
    return {"throughput": int(burst) / float(elapsed), "latency_p50_ms": float(p50),
            "exports": exported["exports"], "export_kib": exported["bytes"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each, off and on")
    parser.add_argument("--sequential", default="30")
    parser.add_argument("--burst", default="200")
    parser.add_argument("--concurrency", default="20")
    args = parser.parse_args()
    bench_args = ["--sequential", args.sequential, "--burst", args.burst, "--concurrency", args.concurrency]
    order = [tracing for i in range(args.runs) for tracing in ((False, True) if i % 2 == 0 else (True, False))]
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="bench-tracing-") as base:
        for n, tracing in enumerate(order):
            found = one_run(tracing, bench_args, Path(base) / f"run-{n}")
            results[tracing].append(found)
            print(f"run {n + 1}/{len(order)} tracing {'on ' if tracing else 'off'}: "
                  f"{found['throughput']:6.1f} requests/s end to end, POST -> notified p50 "
                  f"{found['latency_p50_ms']:6.1f} ms, {found['exports']:.0f} exports ({found['export_kib']:.0f} KiB)",
                  flush=True)
    off = {k: statistics.median(r[k] for r in results[False]) for k in ("throughput", "latency_p50_ms")}
    on = {k: statistics.median(r[k] for r in results[True]) for k in ("throughput", "latency_p50_ms")}
    print(f"medians over {args.runs} run(s) each (burst {args.burst}, {args.concurrency} at a time)")
    print(f"  throughput  off {off['throughput']:6.1f}  on {on['throughput']:6.1f} requests/s   "
          f"on/off {on['throughput'] / off['throughput']:.2f}")
    print(f"  p50 latency off {off['latency_p50_ms']:6.1f}  on {on['latency_p50_ms']:6.1f} ms        "
          f"on/off {on['latency_p50_ms'] / off['latency_p50_ms']:.2f}")


if __name__ == "__main__":
    main()

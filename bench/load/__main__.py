"""Open-loop load on a fresh stack of its own, beside two baselines, in one run (``make bench-load``).

    python -m bench.load --vegeta PATH [--rates 10,25,50] [--seconds 20] [--baseline-seconds 10]
                         [--corpus varied|stories]

For each offered rate: vegeta posts distinct requests at that constant rate to each baseline (bare
FastAPI + pydantic; the same plus one awaited acks=all produce to the same broker), then to intake,
while a watcher on the topics times each request's classification, decision and requester's notice;
then it waits for the pipeline to drain before the next rate. Prints the figures and writes them to
``.run/bench-load/figures.json``; asserts nothing. Stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.load.cpu import CpuMeter
from bench.load.figures import Door, door, outstanding, pipeline
from bench.load.stack import BenchStack, create_topic, issue_key, publish_okrs, sample_okrs
from bench.load.table import Row, render
from bench.load.targets import CORPORA, stories, write_targets
from bench.load.vegeta import Result, attack
from bench.load.watch import Watcher

ROOT = Path(__file__).resolve().parents[2]
BASELINE_TOPIC = "bench.baseline"
# The ceiling, run last (the pipeline is not waited for after it): a closed loop of this many clients.
CEILING_WORKERS = 32
CEILING_MAX_RATE = 2_000  # targets written per second of ceiling: more than any door here answers


def log(message: str) -> None:
    print(f"bench-load: {message}", file=sys.stderr, flush=True)


class Baselines:
    """The two baseline processes, started and stopped together."""

    def __init__(self, stack: BenchStack) -> None:
        self.stack = stack
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self) -> None:
        admin = self.stack.admin()
        for mode, name in (("bare", "bare"), ("kafka", "kafka_baseline")):
            env = {**os.environ, "BASELINE_MODE": mode, "BASELINE_PORT": str(self.stack.port(name)),
                   "BASELINE_KAFKA_BOOTSTRAP": self.stack.bootstrap, "BASELINE_KAFKA_USERNAME": "admin",
                   "BASELINE_KAFKA_PASSWORD": admin.password or "", "BASELINE_TOPIC": BASELINE_TOPIC}
            with (self.stack.run_dir / f"baseline-{mode}.log").open("w") as out:
                process = subprocess.Popen([sys.executable, "-m", "bench.load.baseline"], cwd=ROOT, env=env,
                                           stdout=out, stderr=subprocess.STDOUT)
            self.processes.append(process)
            # For the next run to stop, should this one be killed before it stops them (``stop_leftovers``).
            (self.stack.run_dir / f"baseline-{mode}.pid").write_text(str(process.pid))

    async def ready(self) -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            for name in ("bare", "kafka_baseline"):
                for _ in range(100):
                    try:
                        (await client.get(f"{self.stack.url(name)}/openapi.json")).raise_for_status()
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.2)
                else:
                    raise RuntimeError(f"the {name} baseline did not start; see {self.stack.run_dir}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


async def drain(watcher: Watcher, results: Sequence[Result], *, quiet_s: float, max_s: float) -> bool:
    """Waits until every accepted request is decided and noticed (True), or nothing new appeared for
    ``quiet_s``, or ``max_s`` passed (False: what is missing may still come)."""
    ids = {r.request_id for r in results if r.request_id is not None}
    started = last_change = time.monotonic()
    seen = len(watcher.sightings)
    while True:
        watcher.check()
        if outstanding(ids, watcher.sightings) == 0:
            return True
        now = time.monotonic()
        if len(watcher.sightings) != seen:
            seen, last_change = len(watcher.sightings), now
        if now - last_change > quiet_s or now - started > max_s:
            return False
        await asyncio.sleep(0.5)


async def measure(args: argparse.Namespace, stack: BenchStack) -> tuple[list[Row], dict[str, Door]]:
    templates = stories(ROOT / "data/stories.json")
    okrs = sample_okrs(ROOT / "data/okrs-2026-Q4.json")
    async with httpx.AsyncClient(timeout=30) as client:
        await publish_okrs(client, stack.url("classifier"), stack.dev_key(), okrs)
        key = await issue_key(client, stack.url("intake"), stack.dev_key())
    baselines = Baselines(stack)
    cpu = CpuMeter(stack.run_dir / "stack")
    watcher = Watcher(stack.bootstrap, stack.admin())
    work = stack.run_dir / "attacks"
    work.mkdir()

    async def attack_door(name: str, url: str, rate: int, seconds: int, workers: int | None = None) -> list[Result]:
        targets = work / f"{name}-{rate}.targets"
        # A rate's worth to spare: vegeta cycles through its targets, and a reused key would be a replay.
        write_targets(targets, count=(rate or CEILING_MAX_RATE) * (seconds + 1), url=url, key=key,
                      label=f"load-{name}-{rate}", templates=templates, corpus=args.corpus)
        return await attack(args.vegeta, targets, rate=rate, seconds=seconds, out=work / f"{name}-{rate}",
                            workers=workers)

    rows: list[Row] = []
    ceiling: dict[str, Door] = {}
    try:
        await create_topic(stack.bootstrap, stack.admin(), BASELINE_TOPIC)
        baselines.spawn()
        await baselines.ready()
        await watcher.start()
        log("warming up each door (2 s at 5/s)")
        for name, port in (("bare", "bare"), ("kafka", "kafka_baseline")):
            await attack_door(f"warmup-{name}", stack.url(port), 5, 2)
        warmup = await attack_door("warmup-intake", stack.url("intake"), 5, 2)
        await drain(watcher, warmup, quiet_s=args.quiet_s, max_s=30)
        for rate in args.rates:
            doors = {}
            for name, port in (("bare", "bare"), ("kafka", "kafka_baseline")):
                log(f"{rate}/s for {args.baseline_seconds} s at the {name} baseline")
                doors[name] = door(await attack_door(name, stack.url(port), rate, args.baseline_seconds), rate)
            log(f"{rate}/s for {args.seconds} s at intake")
            before = cpu.read()
            results = await attack_door("intake", stack.url("intake"), rate, args.seconds)
            doors["intake"] = door(results, rate)
            log(f"waiting for the pipeline to drain (at most {args.drain_s:.0f} s)")
            drained = await drain(watcher, results, quiet_s=args.quiet_s, max_s=args.drain_s)
            accepted = sum(1 for r in results if r.request_id is not None)
            rows.append(Row(rate, args.seconds, doors, pipeline(results, watcher.sightings), drained,
                            CpuMeter.per_request_ms(before, cpu.read(), accepted)))
        if args.ceiling_seconds:
            for name, port in (("bare", "bare"), ("kafka", "kafka_baseline"), ("intake", "intake")):
                log(f"ceiling: {CEILING_WORKERS} clients as fast as they are answered for {args.ceiling_seconds} s"
                    f" at {name}")
                ceiling[name] = door(await attack_door(f"ceiling-{name}", stack.url(port), 0,
                                                       args.ceiling_seconds, workers=CEILING_WORKERS), 0)
    finally:
        await watcher.stop()
        baselines.stop()
        with (stack.run_dir / "sightings.jsonl").open("w") as out:
            out.writelines(json.dumps(dataclasses.asdict(s)) + "\n" for s in watcher.sightings)
    return rows, ceiling


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vegeta", required=True, help="the vegeta binary (bench/load/vegeta.sh prints it)")
    parser.add_argument("--rates", type=lambda s: [int(r) for r in s.split(",")], default=[10, 25, 50],
                        help="offered rates, requests a second, comma-separated (default 10,25,50)")
    parser.add_argument("--seconds", type=int, default=20, help="seconds of load at each rate on intake")
    parser.add_argument("--baseline-seconds", type=int, default=10, help="seconds at each rate on each baseline")
    parser.add_argument("--ceiling-seconds", type=int, default=5,
                        help=f"last, each door's most requests a second with {CEILING_WORKERS} clients (0: skip)")
    parser.add_argument("--drain-s", type=float, default=120, help="longest wait for the pipeline to drain")
    parser.add_argument("--quiet-s", type=float, default=15, help="stop waiting when nothing appears for this long")
    parser.add_argument("--corpus", choices=CORPORA, default="varied",
                        help="varied: one request in ten repeats another stakeholder's (the default); stories: "
                             "every request a near-copy of the brief's stories (the worst case; bench/load/targets.py)")
    parser.add_argument("--port-offset", type=int, default=10_000,
                        help="the stack's ports are the default ones plus this (Kafka 19092, intake 18001, ...)")
    args = parser.parse_args()
    # A SIGTERM (a timeout, a supervisor) unwinds like Ctrl-C, so the finally below stops the stack.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = BenchStack(ROOT, ROOT / ".run/bench-load", args.port_offset)
    if stack.taken_ports():
        log("stopping what an earlier run left running")
        stack.stop_leftovers()
    taken = stack.taken_ports()
    if taken:
        log(f"ports {taken} are in use (another bench-load?); choose others with --port-offset")
        return 1
    log(f"starting a fresh stack on ports +{args.port_offset} (Kafka {stack.bootstrap}, intake "
        f"{stack.url('intake')}); its files in {stack.run_dir}")
    try:
        stack.up()
        rows, ceiling = asyncio.run(measure(args, stack))
    finally:
        log("stopping what it started")
        stack.down()
    print(f"corpus: {args.corpus}\n" + render(rows, ceiling))
    figures = stack.run_dir / "figures.json"
    figures.write_text(json.dumps({"corpus": args.corpus, "rates": [dataclasses.asdict(row) for row in rows],
                                   "ceiling": {name: dataclasses.asdict(d) for name, d in ceiling.items()}}, indent=1))
    print(f"\nfigures: {figures}; every result and the stack's logs beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())

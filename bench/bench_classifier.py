"""How fast the OKR aligner is, and what it costs in memory.

    python bench/bench_classifier.py [--okrs PATH] [--sample PATH] [--iterations N]

Prints the import and index cost, p50/p99 latency of one request against the
OKR set (the sample set, or a synthetic five-objective set when the file is
missing), and the time to re-classify 10,000 requests. Figures only: no
assertion on time, since machines differ.
"""

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SYNTHETIC_TOPICS = ("launch", "onboarding", "healthcare", "website", "outage")
FALLBACK_REQUEST = {
    "title": "Launch page for the new release",
    "description": "The main page every launch asset points to, with a demo form for mid-market prospects.",
    "customer_outcome": "Prospects see what the new version does and ask for a demo.",
}


def rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_okrs(path: Path) -> list[dict[str, Any]]:
    if path.exists():
        objectives: list[dict[str, Any]] = json.loads(path.read_text())["objectives"]
        return objectives
    return [
        {
            "id": f"O{i}",
            "rank": i,
            "title": f"Objective about {topic}",
            "description": f"Work on {topic}: campaigns, content and pages that move the {topic} numbers.",
            "key_results": [f"Double the {topic} metric", f"Ship three {topic} campaigns"],
            "keywords": [topic, f"{topic} campaign"],
        }
        for i, topic in enumerate(SYNTHETIC_TOPICS, start=1)
    ]


def load_requests(path: Path) -> list[dict[str, Any]]:
    if path.exists():
        return [json.loads(line)["request"] for line in path.read_text().splitlines() if line.strip()]
    return [FALLBACK_REQUEST]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--okrs", type=Path, default=DATA / "okrs-2026-Q4.json")
    parser.add_argument("--sample", type=Path, default=DATA / "classification-sample.jsonl")
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()

    before = rss_mb()
    started = time.perf_counter()
    from classifier.alignment import Aligner, Objective  # here, to measure what importing costs

    print(
        f"import: {(time.perf_counter() - started) * 1000:.0f} ms, peak RSS {before:.1f} -> {rss_mb():.1f} MB"
    )

    raw = load_okrs(args.okrs)
    objectives = [Objective.of(o) for o in raw]
    started = time.perf_counter()
    aligner = Aligner(objectives)
    print(f"index {len(objectives)} objectives: {(time.perf_counter() - started) * 1000:.1f} ms")

    requests = load_requests(args.sample)

    def classify(request: dict[str, Any]) -> None:
        aligner.align(
            title=request["title"],
            description=request["description"],
            customer_outcome=request.get("customer_outcome"),
            okr_claim=request.get("okr_claim"),
        )

    for request in requests:  # warm caches, as a long-running service would be
        classify(request)
    latencies: list[float] = []
    for i in range(args.iterations):
        request = requests[i % len(requests)]
        started = time.perf_counter()
        classify(request)
        latencies.append(time.perf_counter() - started)
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"one request against {len(objectives)} objectives ({args.iterations} runs): "
        f"p50 {cuts[49] * 1e3:.3f} ms, p99 {cuts[98] * 1e3:.3f} ms, max {max(latencies) * 1e3:.3f} ms"
    )

    started = time.perf_counter()
    for i in range(10_000):
        classify(requests[i % len(requests)])
    print(f"re-classify 10,000 requests: {time.perf_counter() - started:.2f} s")
    bench_similarity(requests, args.iterations // 100)
    print(f"peak RSS at the end: {rss_mb():.1f} MB")


def bench_similarity(requests: list[dict[str, Any]], iterations: int) -> None:
    """What the similarity detector costs per request: one embedding, then one comparison with the open
    requests (a matrix-vector product, and the entity rules on those whose cosine could reach the threshold)."""
    from dataclasses import replace

    import numpy as np

    from classifier.similarity.detector import Candidate, Detector, Pool, profile, text_of
    from shared.events import RequestDetails

    requester = {"id": "u-1", "name": "A", "email": "a@example.com", "team": "Sales", "type": "sales"}

    before = rss_mb()
    started = time.perf_counter()
    detector = Detector()
    detector.load()
    print(f"sentence model load: {(time.perf_counter() - started) * 1000:.0f} ms, "
          f"peak RSS {before:.1f} -> {rss_mb():.1f} MB")
    drafts = [RequestDetails(title=r["title"], description=r["description"], work_type="other",
                             requester=requester) for r in requests]
    texts = [text_of(d) for d in drafts]
    latencies = []
    for i in range(max(iterations, 50)):
        started = time.perf_counter()
        detector.embed([texts[i % len(texts)]])
        latencies.append(time.perf_counter() - started)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"one embedding ({len(latencies)} runs, {np.mean([len(t) for t in texts]):.0f} characters on average): "
          f"p50 {cuts[49] * 1e3:.1f} ms, p99 {cuts[98] * 1e3:.1f} ms")
    vectors = detector.embed(texts)
    profiles = [profile(f"r{i}", d, None) for i, d in enumerate(drafts)]
    for open_count in (1_000, 10_000):
        started = time.perf_counter()
        pool = Pool(Candidate(replace(profiles[i % len(profiles)], request_id=f"o{i}"), f"u{i}",
                              vectors[i % len(vectors)]) for i in range(open_count))
        built = time.perf_counter() - started
        runs = []
        for i in range(20):
            started = time.perf_counter()
            detector.similar(profiles[i % len(profiles)], "me", vectors[i % len(vectors)], pool)
            runs.append(time.perf_counter() - started)
        print(f"compare with {open_count:,} open requests: median {statistics.median(runs) * 1e3:.1f} ms "
              f"(the pool of their vectors built once, at start: {built * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()

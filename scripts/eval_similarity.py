"""Precision and recall of the similarity detector on labelled pairs of requests.

    python scripts/eval_similarity.py [--pairs PATH ...] [--show] [--sweep]

Each line of a pair set is {"id", "label": duplicate|overlap|different, "why", "a", "b"}. A pair is
flagged when the detector's score reaches the overlap threshold. Printed per set, at the thresholds
the service uses (classifier.similarity.scoring.Weights):

- precision: of the flagged pairs, the share labelled duplicate or overlap;
- recall: of the pairs labelled duplicate or overlap, the share flagged (also per label);
- false-flag rate: of the look-alikes (labelled different), the share flagged;
- kind agreement: of the flagged duplicates and overlaps, the share given their own label.

The weights were chosen on the first four tuning sets (data/overlap-dev.jsonl, -dev2, -dev3 and -dev4) and the
overlap threshold on those and the first four held-out sets (data/overlap-heldout.jsonl … -heldout4: read again and
again while the detector changed, they became tuning sets), with scripts/fit_similarity.py. The held-out sets
(data/overlap-heldout5.jsonl, -heldout6 and -heldout7) are read here to report figures, never to tune: ``--show`` and
``--sweep`` act on the tuning sets alone, and ``--tuning-only`` leaves the held-out sets unread.
"""

import argparse
import json
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from classifier.alignment import Aligner, Objective
from classifier.similarity.detector import Detector, profile, text_of
from classifier.similarity.scoring import Comparison, Weights, compare
from shared.events import RequestDetails

DATA = Path(__file__).resolve().parents[1] / "data"
WEIGHT_SETS = ("overlap-dev.jsonl", "overlap-dev2.jsonl", "overlap-dev3.jsonl", "overlap-dev4.jsonl")
# Held out once; read so often while the detector changed that they now count as tuning sets (the threshold's).
READ_BEFORE = tuple(f"overlap-heldout{n}.jsonl" for n in ("", "2", "3", "4", "5", "6", "7", "8", "9"))
TUNING = WEIGHT_SETS + READ_BEFORE
HELDOUT = ("overlap-heldout10.jsonl", "overlap-heldout11.jsonl")


def details(raw: dict[str, Any], n: int) -> RequestDetails:
    requester = raw.get("requester") or {}
    return RequestDetails(
        title=raw["title"], description=raw["description"], work_type=raw.get("work_type", "other"),
        due_date=date.fromisoformat(raw["due_date"]) if raw.get("due_date") else None,
        requester={"id": f"r{n}", "name": "Someone", "email": f"r{n}@example.com",
                   "team": requester.get("team", "Team"), "type": requester.get("type", "business_unit")})


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def scored(rows: list[dict[str, Any]], detector: Detector, aligner: Aligner, weights: Weights
           ) -> list[tuple[dict[str, Any], Comparison]]:
    out = []
    for row in rows:
        a, b = details(row["a"], 1), details(row["b"], 2)
        objectives = [aligner.align(title=d.title, description=d.description, customer_outcome=None,
                                   okr_claim=None).objective_id for d in (a, b)]
        va, vb = detector.embed([text_of(a), text_of(b)])
        out.append((row, compare(profile("b", b, objectives[1]), profile("a", a, objectives[0]),
                                 float(va @ vb), weights)))
    return out


def same_deliverable(row: dict[str, Any]) -> bool:
    kinds = {row["a"].get("work_type", "other"), row["b"].get("work_type", "other")}
    return len(kinds) == 1 or "other" in kinds


def figures(results: list[tuple[dict[str, Any], Comparison]], weights: Weights) -> dict[str, float]:
    flagged = Counter(row["label"] for row, c in results if c.score >= weights.overlap)
    total = Counter(row["label"] for row, _ in results)
    alike = total["duplicate"] + total["overlap"]
    hits = flagged["duplicate"] + flagged["overlap"]
    kinds = sum(1 for row, c in results if c.kind is not None and c.kind == row["label"])
    return {"pairs": len(results), "precision": hits / max(sum(flagged.values()), 1),
            "recall": hits / max(alike, 1),
            "recall_duplicate": flagged["duplicate"] / max(total["duplicate"], 1),
            "recall_overlap": flagged["overlap"] / max(total["overlap"], 1),
            "false_flags": flagged["different"] / max(total["different"], 1),
            "kind_agreement": kinds / max(hits, 1), "flagged": sum(flagged.values()),
            **{f"n_{label}": total[label] for label in ("duplicate", "overlap", "different")}}


def line(name: str, f: dict[str, float]) -> str:
    return (f"{name}: {f['pairs']:.0f} pairs ({f['n_duplicate']:.0f} duplicate, {f['n_overlap']:.0f} overlap, "
            f"{f['n_different']:.0f} different); flagged {f['flagged']:.0f}\n"
            f"  precision {f['precision']:.3f}   recall {f['recall']:.3f} (duplicates {f['recall_duplicate']:.3f}, "
            f"overlaps {f['recall_overlap']:.3f})\n"
            f"  false-flag rate on look-alikes {f['false_flags']:.3f}   kind agreement {f['kind_agreement']:.3f}")


def show(results: list[tuple[dict[str, Any], Comparison]]) -> None:
    for row, c in results:
        if (c.kind is not None) != (row["label"] != "different") or (c.kind and c.kind != row["label"]):
            print(f"  {row['id']} {row['label']} -> {c.kind} {c.score:.3f} {c.conflicts} {c.shared_terms}"
                  f"\n     a: {row['a']['title']}\n     b: {row['b']['title']}")


def sweep(results: list[tuple[dict[str, Any], Comparison]], weights: Weights) -> None:
    for overlap in [x / 100 for x in range(40, 86, 3)]:
        f = figures(results, replace(weights, overlap=overlap))
        print(f"  overlap {overlap:.2f}: precision {f['precision']:.3f} recall {f['recall']:.3f} "
              f"false flags {f['false_flags']:.3f}")
    alike = [(row, c) for row, c in results if row["label"] != "different" and c.score >= weights.overlap]
    for duplicate in [x / 100 for x in range(70, 96, 3)]:
        agree = sum((c.score >= duplicate and same_deliverable(row)) == (row["label"] == "duplicate")
                    for row, c in alike)
        print(f"  duplicate {duplicate:.2f}: kind agreement {agree / max(len(alike), 1):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, action="append",
                        help="a pair set (default: the tuning sets, then the held-out sets present)")
    parser.add_argument("--okrs", type=Path, default=DATA / "okrs-2026-Q4.json")
    parser.add_argument("--show", action="store_true", help="print every tuning pair the detector gets wrong")
    parser.add_argument("--sweep", action="store_true", help="precision and recall on tuning sets across thresholds")
    parser.add_argument("--tuning-only", action="store_true", help="leave the held-out sets unread")
    args = parser.parse_args()

    weights = Weights()
    detector = Detector(weights)
    started = time.perf_counter()
    detector.load()
    print(f"== similarity (overlap threshold {weights.overlap}, duplicate threshold {weights.duplicate}); "
          f"model loaded in {(time.perf_counter() - started) * 1000:.0f} ms")
    aligner = Aligner([Objective.of(o) for o in json.loads(args.okrs.read_text())["objectives"]])
    names = TUNING if args.tuning_only else TUNING + HELDOUT
    paths = args.pairs or [DATA / name for name in names if (DATA / name).exists()]
    held_out: list[tuple[dict[str, Any], Comparison]] = []
    for path in paths:
        if path.name in HELDOUT and args.tuning_only:
            continue
        if not path.exists():
            print(f"{path.name}: missing")
            continue
        results = scored(load(path), detector, aligner, weights)
        role = ("held-out, never tuned on" if path.name in HELDOUT
                else "tuning set, held out before" if path.name in READ_BEFORE else "tuning set")
        print(line(f"{path.name} ({role})", figures(results, weights)))
        if path.name in HELDOUT:
            held_out.extend(results)
            continue
        if args.show:
            show(results)
        if args.sweep:
            sweep(results, weights)
    if held_out:
        print(line("held-out sets pooled", figures(held_out, weights)))
    print(f"(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()

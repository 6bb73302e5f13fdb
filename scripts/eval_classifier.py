"""Agreement of the OKR aligner with labelled sets of requests.

    python scripts/eval_classifier.py [--okrs PATH] [--sample PATH ...] [--half all|a|b]

For each labelled set (by default every one in data/: the sample the aligner was
first tuned on, the development set, the held-out set) prints agreement on the
objective and on the claim verdict, a confusion matrix between objectives
(including none), and every disagreement with its scores. `--half a` and
`--half b` split a set in two, alternating within each expected objective, so
settings tuned on one half can be checked on the other.
"""

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from classifier.alignment import Aligner, Alignment, Objective

DATA = Path(__file__).resolve().parents[1] / "data"
# The sample labels a request that names no objective "none"; the aligner says "not_claimed".
CLAIM_LABELS = {"none": "not_claimed"}
LABELLED_SETS = ("classification-sample.jsonl", "classification-dev.jsonl", "classification-heldout.jsonl")


def load_objectives(path: Path) -> list[Objective]:
    raw = json.loads(path.read_text())
    return [Objective.of(o) for o in raw["objectives"]]


def load_sample(path: Path, half: str) -> list[dict[str, Any]]:
    """All lines, or one of two halves that alternate within each expected objective."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if half == "all":
        return lines
    seen: Counter[str | None] = Counter()
    kept = []
    for row in lines:
        label = row["expected"]["okr"]
        if seen[label] % 2 == (0 if half == "a" else 1):
            kept.append(row)
        seen[label] += 1
    return kept


def align(aligner: Aligner, request: dict[str, Any]) -> Alignment:
    return aligner.align(
        title=request["title"],
        description=request["description"],
        customer_outcome=request.get("customer_outcome"),
        okr_claim=request.get("okr_claim"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--okrs", type=Path, default=DATA / "okrs-2026-Q4.json")
    parser.add_argument("--sample", type=Path, action="append",
                        help="a labelled set (repeatable); default: every labelled set in data/")
    parser.add_argument("--half", choices=("all", "a", "b"), default="all")
    args = parser.parse_args()

    objectives = load_objectives(args.okrs)
    aligner = Aligner(objectives)
    paths = args.sample or [DATA / name for name in LABELLED_SETS if (DATA / name).exists()]
    for n, path in enumerate(paths):
        print(("\n" if n else "") + f"== {path.name}")
        report(aligner, objectives, load_sample(path, args.half), args.half)


def report(aligner: Aligner, objectives: list[Objective], rows: list[dict[str, Any]], half: str) -> None:
    """Agreement, confusion and disagreements of one labelled set."""

    confusion: Counter[tuple[str, str]] = Counter()
    okr_ok = claim_ok = 0
    misses: list[str] = []
    for row in rows:
        got = align(aligner, row["request"])
        want_okr = row["expected"]["okr"]
        want_claim = CLAIM_LABELS.get(row["expected"]["claim"], row["expected"]["claim"])
        confusion[(want_okr or "none", got.objective_id or "none")] += 1
        okr_ok += got.objective_id == want_okr
        claim_ok += got.claim == want_claim
        if got.objective_id != want_okr or got.claim != want_claim:
            misses.append(
                f"{row['id']}: expected {want_okr or 'none'}/{want_claim}, "
                f"got {got.objective_id or 'none'}/{got.claim} "
                f"(score {got.score:.2f}, runner-up {got.runner_up_id} {got.runner_up_score:.2f})"
                f"\n    {got.rationale}"
            )

    n = len(rows)
    print(f"{n} requests ({half}), {len(objectives)} objectives")
    print(f"objective agreement: {okr_ok}/{n} = {okr_ok / n:.0%}")
    print(f"claim agreement:     {claim_ok}/{n} = {claim_ok / n:.0%}")
    labels = [o.id for o in objectives] + ["none"]
    print("\nconfusion (rows: expected, columns: got)")
    print("        " + "".join(f"{label:>6}" for label in labels))
    for want in labels:
        print(f"{want:>6}  " + "".join(f"{confusion[(want, got)]:>6}" for got in labels))
    print(f"\ndisagreements: {len(misses)}")
    for miss in misses:
        print(miss)


if __name__ == "__main__":
    main()

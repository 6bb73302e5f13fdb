"""Choose the similarity detector's weights and overlap threshold on the tuning sets, with cross-validation.

    python scripts/fit_similarity.py

Reads the tuning sets only (never a held-out set: data/overlap-heldout8.jsonl, -heldout9).

The weights: on the first four tuning sets (data/overlap-dev.jsonl … -dev4, ``WEIGHT_SETS``), a grid over the
score's free weights and the overlap threshold is searched for the least shortfall from the targets
(precision 0.95, recall 0.8, the shortfalls added; see ``TARGET_PRECISION``) on the labelled pairs, among the
grid points that flag at most ``UNRELATED_CAP`` of the unlabelled pairs made of a request from each set (see
``unrelated``): the labelled pairs alone, nearly all look-alikes or alike, would let the threshold fall until
unrelated work is named. Each set is scored with the weights chosen on the other sets' labels alone (the
cross-validated figures); then the weights chosen on all four are printed, to be written into
``classifier.similarity.scoring.Weights`` by hand.

The overlap threshold, with those weights, on all eleven tuning sets (the four above and the first seven
held-out sets, ``READ_BEFORE``, read too often to be held out any longer): the one with the best F1 among those
keeping pooled precision at least ``THRESHOLD_PRECISION`` and flagging at most ``THRESHOLD_UNRELATED_CAP`` of the
unlabelled pairs of the eleven. Last, the duplicate threshold that gives the most flagged alike pairs their own
label.
"""

import itertools
import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifier.alignment import Aligner, Objective
from classifier.similarity.detector import Detector, profile, text_of
from classifier.similarity.scoring import Profile, Weights, evidence
from scripts.eval_similarity import DATA, TUNING, WEIGHT_SETS, details, load, same_deliverable

GRID: dict[str, tuple[float, ...]] = {
    "shared": (0.03, 0.06, 0.09),
    "same_subject": (0.05, 0.1, 0.15),
    "other_subject": (0.0, 0.1, 0.2, 0.3, 0.45, 0.6),
    "other_audience": (0.0, 0.1, 0.2, 0.3, 0.45, 0.6),
    "same_work_type": (0.0, 0.05),
    "other_work_type": (0.0, 0.05),
    "due_far": (0.1, 0.2, 0.3),
    "same_objective": (0.0, 0.03),
}
OVERLAP = np.round(np.arange(0.44, 0.73, 0.02), 2)
TARGET_PRECISION, TARGET_RECALL = 0.95, 0.8  # the aims are 0.9 and 0.8: precision fell most on unseen pairs
UNRELATED_CAP = 0.001  # at most one unrelated pair in 1,000 flagged (as many as before the fit)
# The threshold's own rule. Precision held at 0.92 leaves room above the aim of 0.9 (unseen sets scored up to 0.02
# below the tuning sets). The cap on unrelated pairs is looser than the weights' because many pairs of requests from
# two sets' worlds that score high are one kind of work (a board deck, an ESG report, a trial drip campaign): within
# one company they would be duplicates, so the cap overstates false flags.
THRESHOLDS = np.round(np.arange(0.50, 0.73, 0.01), 2)
THRESHOLD_PRECISION, THRESHOLD_UNRELATED_CAP = 0.92, 0.0015
_SHORTLIST = 400  # grid points (best on the labelled pairs first) checked against the unlabelled pairs
NAMES = sorted({*GRID, "conflict", "due_close"})
Array = NDArray[np.float64]


@dataclass(frozen=True)
class Pairs:
    """Pairs as numbers: each one's cosine, its findings (one column per weight in ``NAMES``), its label."""

    cosine: Array
    counts: Array
    alike: NDArray[np.bool_]

    def __add__(self, other: "Pairs") -> "Pairs":
        return Pairs(np.concatenate([self.cosine, other.cosine]), np.concatenate([self.counts, other.counts]),
                     np.concatenate([self.alike, other.alike]))


@dataclass(frozen=True)
class TuningSet:
    rows: list[dict[str, Any]]
    labelled: Pairs
    profiles: list[Profile]
    vectors: NDArray[np.float32]


def _counts(new: Profile, old: Profile) -> list[float]:
    found = evidence(new, old)
    return [found.counts.get(name, 0.0) for name in NAMES]


def prepared(rows: list[dict[str, Any]], detector: Detector, aligner: Aligner) -> TuningSet:
    requests = [details(row[side], n) for row in rows for n, side in enumerate("ab", start=1)]
    objectives = [aligner.align(title=d.title, description=d.description, customer_outcome=None,
                                okr_claim=None).objective_id for d in requests]
    profiles = [profile(str(i), d, o) for i, (d, o) in enumerate(zip(requests, objectives, strict=True))]
    vectors = detector.embed([text_of(d) for d in requests])
    pairs = range(len(rows))
    labelled = Pairs(np.array([float(vectors[2 * i] @ vectors[2 * i + 1]) for i in pairs]),
                     np.array([_counts(profiles[2 * i + 1], profiles[2 * i]) for i in pairs]),
                     np.array([row["label"] != "different" for row in rows]))
    return TuningSet(rows, labelled, profiles, vectors)


def unrelated(sets: list[TuningSet]) -> Pairs:
    """Every request of each set with every request of each other set: the sets were written about different
    accounts, products, events and places, so these pairs are unrelated work, as most open requests are
    for a new one. Pairs whose cosine no grid point lifts to the lowest threshold are only counted."""
    floor = OVERLAP[0] - (3 * max(GRID["shared"]) + max(GRID["same_subject"]) + max(GRID["same_work_type"])
                          + Weights().due_close + max(GRID["same_objective"]))
    cosine: list[float] = []
    counts: list[list[float]] = []
    total = 0
    for left, right in itertools.combinations(sets, 2):
        cosines = left.vectors @ right.vectors.T
        total += cosines.size
        for i, j in np.argwhere(cosines >= floor):
            cosine.append(float(cosines[i, j]))
            counts.append(_counts(left.profiles[i], right.profiles[j]))
    return Pairs(np.array(cosine), np.array(counts).reshape(len(counts), len(NAMES)), np.full(total, False))


def grid() -> Array:
    return np.array([[dict(zip(GRID, values, strict=True)).get(n, getattr(Weights(), n)) for n in NAMES]
                     for values in itertools.product(*GRID.values())])


def vector(weights: Weights) -> Array:
    return np.array([[getattr(weights, n) for n in NAMES]])


def rates(pairs: Pairs, weights: Array, overlap: Array) -> tuple[Array, Array, Array]:
    """Precision, recall and false-flag rate for each row of ``weights`` (grid, names) at each threshold."""
    scores = np.clip(pairs.cosine[None, :] + weights @ pairs.counts.T, 0, 1)
    flagged = scores[:, :, None] >= overlap[None, None, :] - 1e-9
    hits = flagged[:, pairs.alike].sum(axis=1)
    wrong = flagged[:, ~pairs.alike].sum(axis=1)
    return hits / np.maximum(hits + wrong, 1), hits / max(pairs.alike.sum(), 1), wrong / max((~pairs.alike).sum(), 1)


def unrelated_rate(pairs: Pairs, weights: Array, overlap: Array) -> Array:
    """The share of unlabelled pairs flagged, for each row of ``weights`` and each threshold."""
    scores = np.clip(pairs.cosine[None, :] + weights @ pairs.counts.T, 0, 1)
    flagged: Array = (scores[:, :, None] >= overlap[None, None, :] - 1e-9).sum(axis=1) / max(len(pairs.alike), 1)
    return flagged


def objective(precision: Array, recall: Array) -> Array:
    """Minus how far precision and recall fall short of their targets, added; F1 breaking near-ties."""
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    shortfall = np.maximum(TARGET_PRECISION - precision, 0) + np.maximum(TARGET_RECALL - recall, 0)
    return -shortfall + 0.01 * f1


def fit(sets: list[TuningSet], others: Pairs) -> Weights:
    labelled = sets[0].labelled
    for s in sets[1:]:
        labelled += s.labelled
    candidates = grid()
    precision, recall, _ = rates(labelled, candidates, OVERLAP)
    goal = objective(precision, recall)
    best = np.argsort(-goal.max(axis=1), kind="stable")[:_SHORTLIST]
    goal = np.where(unrelated_rate(others, candidates[best], OVERLAP) <= UNRELATED_CAP, goal[best], -np.inf)
    row, column = np.unravel_index(int(np.argmax(goal)), goal.shape)
    chosen: dict[str, Any] = {n: float(round(v, 4)) for n, v in zip(NAMES, candidates[best[row]], strict=True)}
    return replace(Weights(), **chosen, overlap=float(OVERLAP[column]))


def choose_threshold(sets: list[TuningSet], others: Pairs, weights: Weights) -> tuple[float, str]:
    """The overlap threshold by the rule in the module's docstring, and the table it was chosen from."""
    labelled = sets[0].labelled
    for s in sets[1:]:
        labelled += s.labelled
    precision, recall, _ = (x[0] for x in rates(labelled, vector(weights), THRESHOLDS))
    flagged = unrelated_rate(others, vector(weights), THRESHOLDS)[0]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    allowed = (precision >= THRESHOLD_PRECISION) & (flagged <= THRESHOLD_UNRELATED_CAP)
    if not allowed.any():
        raise SystemExit("no threshold keeps the precision and the unrelated pairs within bounds")
    chosen = float(THRESHOLDS[int(np.argmax(np.where(allowed, f1, -1.0)))])
    table = "\n".join(f"    {t:.2f}: precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}  unrelated flagged {u:.5f}"
                      f"{'  <- chosen' if t == chosen else ''}"
                      for t, p, r, f, u in zip(THRESHOLDS, precision, recall, f1, flagged, strict=True))
    return chosen, table


def report(name: str, tuning: TuningSet, weights: Weights) -> str:
    overlap = np.array([weights.overlap])
    precision, recall, false_flags = (float(x[0, 0]) for x in rates(tuning.labelled, vector(weights), overlap))
    return (f"{name}: precision {precision:.3f}  recall {recall:.3f}  false flags on look-alikes "
            f"{false_flags:.3f}")


def report_unrelated(others: Pairs, weights: Weights) -> str:
    rate = float(unrelated_rate(others, vector(weights), np.array([weights.overlap]))[0, 0])
    return f"unrelated pairs (a request of each set) flagged: {rate:.4f}"


def shown(weights: Weights) -> str:
    return ", ".join(f"{n}={getattr(weights, n)}" for n in (*GRID, "overlap"))


def duplicate_threshold(sets: list[TuningSet], weights: Weights) -> float:
    """The duplicate threshold giving the most flagged alike pairs their own label."""
    best, chosen = -1, weights.duplicate
    for duplicate in (x / 100 for x in range(50, 96, 2) if x / 100 >= weights.overlap):
        agree = 0
        for s in sets:
            scores = np.clip(s.labelled.cosine + s.labelled.counts @ vector(weights)[0], 0, 1)
            agree += sum((score >= duplicate and same_deliverable(row)) == (row["label"] == "duplicate")
                         for row, score in zip(s.rows, scores, strict=True)
                         if row["label"] != "different" and score >= weights.overlap)
        if agree > best:
            best, chosen = agree, duplicate
    return chosen


def main() -> None:
    detector = Detector()
    detector.load()
    aligner = Aligner([Objective.of(o) for o in json.loads((DATA / "okrs-2026-Q4.json").read_text())["objectives"]])
    every = {name: prepared(load(DATA / name), detector, aligner) for name in TUNING}
    sets = {name: every[name] for name in WEIGHT_SETS}
    others = unrelated(list(sets.values()))
    print(f"== current weights: {shown(Weights())}")
    for name, tuning in every.items():
        print("  " + report(name, tuning, Weights()))
    print("  " + report_unrelated(others, Weights()))
    print("== the weights, cross-validated: each set scored with the weights chosen on the other sets' labels alone")
    for name, tuning in sets.items():
        rest = [other for other_name, other in sets.items() if other_name != name]
        chosen = fit(rest, others)
        print(f"  chosen without {name}: {shown(chosen)}\n    " + report(f"scored on {name}", tuning, chosen))
    chosen = fit(list(sets.values()), others)
    print(f"== weights chosen on {', '.join(WEIGHT_SETS)}: {shown(chosen)}")
    overlap, table = choose_threshold(list(every.values()), unrelated(list(every.values())), chosen)
    print(f"== the overlap threshold on all {len(every)} tuning sets (pooled):\n{table}")
    chosen = replace(chosen, overlap=overlap)
    chosen = replace(chosen, duplicate=duplicate_threshold(list(every.values()), chosen))
    print(f"== chosen: {shown(chosen)}, duplicate={chosen.duplicate}")
    for name, tuning in every.items():
        print("  " + report(name, tuning, chosen))
    print("  " + report_unrelated(others, chosen) + f" (of the {len(WEIGHT_SETS)} weight sets)")


if __name__ == "__main__":
    main()

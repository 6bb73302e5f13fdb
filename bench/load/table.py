"""How one run reads: the pipeline per offered rate, then intake's door against the two baselines."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load.figures import Door, Percentiles, Pipeline

__all__ = ["BASELINES", "Row", "render"]

BASELINES = {"bare": "bare FastAPI + pydantic", "kafka": "+ one awaited acks=all produce"}


@dataclass(frozen=True)
class Row:
    rate: int
    seconds: int
    doors: dict[str, Door]  # "bare", "kafka", "intake"
    pipeline: Pipeline
    drained: bool
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per accepted request, by process


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value < 10_000 else f"{value / 1000:.1f}s"


def _three(p: Percentiles) -> str:
    return f"{_ms(p.p50)} / {_ms(p.p90)} / {_ms(p.p99)}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def render(rows: list[Row], ceiling: dict[str, Door]) -> str:
    lines = ["Pipeline (intake → classifier → capacity → notifier), times in ms from the POST being sent:", ""]
    head = (f"{'offered':>9} {'achieved':>9} {'POST p50/p99':>13} {'→decision p50/p90/p99':>23} "
            f"{'→notice p50/p90/p99':>23} {'decisions/s':>11} {'lost dec/notice':>15} {'dup ev/notice':>13} "
            f"{'drain s':>8}")
    lines += [head, "-" * len(head)]
    for row in rows:
        intake, p = row.doors["intake"], row.pipeline
        drain = "-" if p.drain_s is None else f"{p.drain_s:.1f}" + ("" if row.drained else "+")
        refused = f"  (refused: {intake.refused})" if intake.refused else ""
        lines.append(
            f"{f'{row.rate}/s {row.seconds}s':>9} {intake.achieved:>7.1f}/s "
            f"{f'{_ms(intake.latency.p50)} / {_ms(intake.latency.p99)}':>13} {_three(p.to_decision):>23} "
            f"{_three(p.to_notice):>23} {'-' if p.decisions_per_s is None else f'{p.decisions_per_s:.1f}':>11} "
            f"{f'{p.lost_decision} / {p.lost_notice}':>15} "
            f"{f'{p.duplicated_events} / {p.duplicated_notices}':>13} {drain:>8}{refused}")
    lines += _cpu(rows)
    lines += ["", "The door: intake's POST beside the baselines at the same offered rate "
                  "(ratio = intake ÷ baseline; throughput near 1.00x and small latency ratios are good):", ""]
    head = (f"{'offered':>9}  {'door':<32} {'achieved':>9} {'p50 ms':>7} {'p99 ms':>7}   "
            f"{'throughput':>10} {'p50':>7} {'p99':>7}")
    lines += [head, "-" * len(head)]
    for row in rows:
        intake = row.doors["intake"]
        for name, label in (*BASELINES.items(), ("intake", "intake (the pipeline's door)")):
            d = row.doors[name]
            ratios = ("" if name == "intake" else
                      f"   {_ratio(intake.achieved, d.achieved):>10} {_ratio(intake.latency.p50, d.latency.p50):>7} "
                      f"{_ratio(intake.latency.p99, d.latency.p99):>7}")
            lines.append(f"{f'{row.rate}/s':>9}  {label:<32} {d.achieved:>7.1f}/s {_ms(d.latency.p50):>7} "
                         f"{_ms(d.latency.p99):>7}{ratios}")
    if ceiling:
        lines += ["", "Ceiling: each door's most answers a second (closed loop, 32 clients, run last):", ""]
        for name, label in (*BASELINES.items(), ("intake", "intake (the pipeline's door)")):
            d, intake = ceiling[name], ceiling["intake"]
            ratios = ("" if name == "intake" else
                      f"   {_ratio(intake.achieved, d.achieved):>10} {_ratio(intake.latency.p50, d.latency.p50):>7} "
                      f"{_ratio(intake.latency.p99, d.latency.p99):>7}")
            refused = f"  (refused: {d.refused})" if d.refused else ""
            lines.append(f"{'max':>9}  {label:<32} {d.achieved:>7.1f}/s {_ms(d.latency.p50):>7} "
                         f"{_ms(d.latency.p99):>7}{ratios}{refused}")
    lines += ["", "lost: accepted (202) but its decision / its requester's notice never seen; dup: one event seen "
                  "twice / one decision told twice;", "drain: last decision or notice after the last POST "
                  "(+: cut off before every request was accounted for)."]
    return "\n".join(lines)


def _cpu(rows: list[Row]) -> list[str]:
    """CPU milliseconds per accepted request, by process: what the noise of a shared machine leaves alone."""
    names = sorted({name for row in rows for name in row.cpu_ms})
    if not names:
        return []
    head = f"{'offered':>9} " + " ".join(f"{name:>10}" for name in names) + f" {'total':>10}"
    lines = ["", "CPU per accepted request, ms, by process (from the POSTs until the pipeline drained):", "",
             head, "-" * len(head)]
    for row in rows:
        cells = " ".join(f"{row.cpu_ms.get(name, 0.0):>10.1f}" for name in names)
        lines.append(f"{f'{row.rate}/s':>9} {cells} {sum(row.cpu_ms.values()):>10.1f}")
    return lines

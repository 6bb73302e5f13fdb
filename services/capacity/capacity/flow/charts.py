"""The cumulative flow diagram as SVG: per day, how many items had arrived, been committed, started and
finished; the bands between the lines are the work waiting, committed, in progress and done. Written by
hand like capacity's other charts (a few polygons need no plotting library)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from capacity.dashboard.charts import FONT, GRID, INK, MUTED, PAPER

__all__ = ["cfd_svg"]

# Lowest band first: what is done at the foot, what waits on top.
BANDS = (("done", "done", "#15803d"), ("started", "in progress", "#1d4ed8"),
         ("committed", "committed", "#facc15"), ("arrived", "waiting", "#9ca3af"))


def _points(xs: Sequence[float], ys: Sequence[float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def cfd_svg(cfd: Mapping[str, Any], *, width: int = 960, height: int = 400, title: str | None = None) -> str:
    """``cfd`` as ``metrics.cfd`` gives it."""
    days: list[str] = list(cfd["days"])
    left, right, top, bottom = 56, 150, 40, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = float(max([1, *cfd["arrived"]]))
    count = max(len(days) - 1, 1)
    xs = [left + plot_w * i / count for i in range(len(days))]

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / highest

    heading = title or f"Cumulative flow{' — ' + str(cfd['lane']) if cfd.get('lane') else ''}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{FONT}" role="img" aria-label="{escape(heading)}">',
             f'<rect width="{width}" height="{height}" fill="{PAPER}"/>',
             f'<text x="{left}" y="24" font-size="16" fill="{INK}">{escape(heading)}</text>']
    for i in range(5):
        value = highest * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="{MUTED}">{round(value)}</text>')
    floor = [0.0] * len(days)
    for key, _, colour in BANDS:
        line = [float(v) for v in cfd[key]]
        if days:
            outline = _points(xs, [y(v) for v in line]) + " " + _points(xs[::-1], [y(v) for v in floor[::-1]])
            parts.append(f'<polygon points="{outline}" fill="{colour}" fill-opacity="0.85" stroke="{colour}"/>')
        floor = line
    for i, (_, label, colour) in enumerate(reversed(BANDS)):
        ly = top + 18 * i
        parts.append(f'<rect x="{left + plot_w + 16}" y="{ly}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w + 34}" y="{ly + 10}" font-size="12" fill="{INK}">{label}</text>')
    for i in sorted({0, len(days) // 2, len(days) - 1}) if days else []:
        parts.append(f'<text x="{xs[i]:.1f}" y="{height - 12}" font-size="11" text-anchor="middle" '
                     f'fill="{MUTED}">{escape(days[i])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)

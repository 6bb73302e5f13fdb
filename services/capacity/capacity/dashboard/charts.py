"""The shares chart for leadership: capacity per lane and cycle, stacked, against the customer reserve.

``shares_chart`` lays the chart out once, as plain shapes; ``to_svg`` and ``to_png`` draw those
shapes, so the dashboard, the SVG export and the PNG export always show the same picture. Lane
colours are named by the classifier ("blue"); ``PALETTE`` gives each name the shade drawn, and
``ink`` the text colour readable on it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw, ImageFont

from shared.lanes import every_lane

__all__ = ["PALETTE", "Chart", "hex_of", "ink", "shares_chart", "to_png", "to_svg"]

# Bright enough to tell apart on a washed-out projector, dark enough to carry text.
PALETTE = {"blue": "#1d4ed8", "orange": "#f97316", "green": "#15803d", "yellow": "#facc15",
           "grey": "#9ca3af", "gray": "#9ca3af", "red": "#dc2626", "purple": "#7e22ce",
           "pink": "#db2777", "teal": "#0f766e", "brown": "#92400e", "black": "#111827"}
INK, PAPER, GRID, MUTED = "#111827", "#ffffff", "#d1d5db", "#374151"
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


def hex_of(colour: str) -> str:
    """The shade drawn for a colour name, or the colour itself when it is already ``#rrggbb``."""
    if len(colour) == 7 and colour.startswith("#"):
        return colour.lower()
    return PALETTE.get(colour.lower(), PALETTE["grey"])


def _luminance(hex_colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def ink(hex_colour: str) -> str:
    """Black or white text on ``hex_colour``, whichever contrasts more (WCAG)."""
    lum = _luminance(hex_colour)
    return INK if (lum + 0.05) / (_luminance(INK) + 0.05) >= 1.05 / (lum + 0.05) else PAPER


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1
    dashed: bool = False


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    fill: str = INK
    anchor: Literal["start", "middle", "end"] = "start"
    bold: bool = False


Shape = Rect | Line | Text


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    title: str
    shapes: tuple[Shape, ...]


def _lanes_of(cycles: Sequence[Mapping[str, Any]]) -> list[str]:
    return every_lane(lane for row in cycles for lane in row["lanes"])  # customer at the foot of each bar


def shares_chart(report: Mapping[str, Any], colours: Mapping[str, str], *, width: int = 960,
                 height: int = 540) -> Chart:
    """Per cycle of a shares report, one bar stacked by lane (share of the cycle's capacity), with the
    customer reserve as a dashed line. ``colours`` maps a lane to its colour name or ``#rrggbb``."""
    cycles: Sequence[Mapping[str, Any]] = report["cycles"]
    reserve = float(report["customer_reserve"])
    lanes = _lanes_of(cycles)
    if not cycles:
        span = f"{report['from']} to {report['to']}"
    elif len(cycles) == 1:
        span = f"cycle {cycles[0]['cycle']}"
    else:
        span = f"{cycles[0]['cycle']} to {cycles[-1]['cycle']}"
    title = f"Share of capacity per lane, {span}"
    left, right, top, bottom = 76, 210, 72, 68
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(float(v["share"]) for v in row["lanes"].values()) for row in cycles]
    ceiling = max([1.0, *totals])
    ceiling = -(-ceiling // 0.25) * 0.25  # up to the next quarter

    def y_of(share: float) -> float:
        return top + plot_h * (1 - share / ceiling)

    shapes: list[Shape] = [Rect(0, 0, width, height, PAPER), Text(left, 36, title, 24, bold=True)]
    step = 0.25
    tick = 0.0
    while tick <= ceiling + 1e-9:
        shapes.append(Line(left, y_of(tick), left + plot_w, y_of(tick), GRID))
        shapes.append(Text(left - 10, y_of(tick) + 6, f"{tick:.0%}", 16, MUTED, "end"))
        tick += step
    shapes.append(Text(left, top - 16, "share of the cycle's capacity", 15, MUTED))
    if not cycles:
        shapes.append(Text(left + plot_w / 2, top + plot_h / 2, "No work committed in these cycles yet.", 20,
                           MUTED, "middle"))
    slot = plot_w / max(1, len(cycles))
    bar = min(72.0, slot * 0.7)
    for i, row in enumerate(cycles):
        x = left + slot * i + (slot - bar) / 2
        base = 0.0
        for lane in lanes:
            share = float(row["lanes"].get(lane, {}).get("share", 0.0))
            if share <= 0:
                continue
            fill = hex_of(colours.get(lane, "grey"))
            y0, y1 = y_of(base + share), y_of(base)
            shapes.append(Rect(x, y0, bar, y1 - y0, fill))
            if y1 - y0 >= 22 and bar >= 40:
                shapes.append(Text(x + bar / 2, (y0 + y1) / 2 + 6, f"{share:.0%}", 16, ink(fill), "middle", True))
            base += share
        label = str(row["cycle"]).split("-")[-1]
        shapes.append(Text(x + bar / 2, top + plot_h + 26, label, 16, INK, "middle"))
    shapes.append(Text(left + plot_w / 2, height - 12, "cycle", 15, MUTED, "middle"))
    shapes.append(Line(left, top + plot_h, left + plot_w, top + plot_h, INK, 2))
    # The reserve in force in each cycle: one line while it held, a step where ops changed it.
    reserves = [float(row.get("customer_reserve", reserve)) for row in cycles] or [reserve]
    for i, held in enumerate(reserves):
        x0, x1 = left + slot * i, left + slot * (i + 1) if len(cycles) else left + plot_w
        shapes.append(Line(x0, y_of(held), x1, y_of(held), INK, 3, dashed=True))
        if i and held != reserves[i - 1]:
            shapes.append(Line(x0, y_of(reserves[i - 1]), x0, y_of(held), INK, 3, dashed=True))
    reserve = reserves[-1]
    label = f"customer reserve {reserve:.0%}" if len(set(reserves)) == 1 else f"customer reserve, now {reserve:.0%}"
    shapes.append(Rect(left + plot_w - 8 - len(label) * 10, y_of(reserve) - 28, len(label) * 10 + 8, 22, PAPER))
    shapes.append(Text(left + plot_w - 4, y_of(reserve) - 11, label, 16, INK, "end", True))
    legend_x, legend_y = left + plot_w + 28, top + 8
    shapes.append(Text(legend_x, legend_y, "lane", 16, MUTED, bold=True))
    for i, lane in enumerate(lanes):
        y = legend_y + 14 + i * 30
        shapes.append(Rect(legend_x, y, 22, 22, hex_of(colours.get(lane, "grey"))))
        shapes.append(Text(legend_x + 32, y + 18, lane.replace("_", " "), 18))
    y = legend_y + 14 + len(lanes) * 30 + 14
    shapes.append(Line(legend_x, y, legend_x + 22, y, INK, 3, dashed=True))
    shapes.append(Text(legend_x + 32, y + 6, "reserve", 18))
    return Chart(width, height, title, tuple(shapes))


def to_svg(chart: Chart) -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{chart.width}" height="{chart.height}" '
             f'viewBox="0 0 {chart.width} {chart.height}" role="img" font-family={quoteattr(FONT)}>',
             f"<title>{escape(chart.title)}</title>"]
    for shape in chart.shapes:
        if isinstance(shape, Rect):
            parts.append(f'<rect x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.w:.1f}" '
                         f'height="{shape.h:.1f}" fill="{shape.fill}"/>')
        elif isinstance(shape, Line):
            dash = ' stroke-dasharray="10 6"' if shape.dashed else ""
            parts.append(f'<line x1="{shape.x1:.1f}" y1="{shape.y1:.1f}" x2="{shape.x2:.1f}" y2="{shape.y2:.1f}" '
                         f'stroke="{shape.stroke}" stroke-width="{shape.width}"{dash}/>')
        else:
            weight = ' font-weight="bold"' if shape.bold else ""
            parts.append(f'<text x="{shape.x:.1f}" y="{shape.y:.1f}" font-size="{shape.size}" fill="{shape.fill}" '
                         f'text-anchor="{shape.anchor}"{weight}>{escape(shape.text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


_ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}  # Pillow's anchors: left/middle/right, on the baseline


def to_png(chart: Chart, scale: int = 2) -> bytes:
    """The chart as a PNG, drawn at ``scale`` times its size for sharp text on slides."""
    image = Image.new("RGB", (chart.width * scale, chart.height * scale), PAPER)
    draw = ImageDraw.Draw(image)
    fonts: dict[float, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    for shape in chart.shapes:
        if isinstance(shape, Rect):
            if shape.w * scale < 1 or shape.h * scale < 1:
                continue  # a sliver under a pixel: nothing to draw (Pillow refuses empty boxes)
            draw.rectangle([shape.x * scale, shape.y * scale, (shape.x + shape.w) * scale - 1,
                            (shape.y + shape.h) * scale - 1], fill=shape.fill)
        elif isinstance(shape, Line):
            _line(draw, shape, scale)
        else:
            font = fonts.get(shape.size) or fonts.setdefault(shape.size, ImageFont.load_default(shape.size * scale))
            draw.text((shape.x * scale, shape.y * scale), shape.text, fill=shape.fill, font=font,
                      anchor=_ANCHORS[shape.anchor], stroke_width=1 if shape.bold else 0, stroke_fill=shape.fill)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _line(draw: ImageDraw.ImageDraw, line: Line, scale: int) -> None:
    x1, y1, x2, y2 = (v * scale for v in (line.x1, line.y1, line.x2, line.y2))
    width = max(1, round(line.width * scale))
    if not line.dashed:
        draw.line([x1, y1, x2, y2], fill=line.stroke, width=width)
        return
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    dash, gap, at = 10 * scale, 6 * scale, 0.0
    while at < length:
        end = min(at + dash, length)
        draw.line([x1 + (x2 - x1) * at / length, y1 + (y2 - y1) * at / length,
                   x1 + (x2 - x1) * end / length, y1 + (y2 - y1) * end / length], fill=line.stroke, width=width)
        at = end + gap

"""Messages for people, from Jinja2 templates: one file per event and audience.

``templates/<event type>.<audience>.j2`` defines the blocks ``subject`` and ``body`` (the
email), and optionally ``slack`` (a shorter chat post; otherwise the subject in bold above the
body). ``_macros.j2`` holds the shared phrasing, available to every template as ``m``. A field a
template names but the event lacks fails loudly (``StrictUndefined``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from shared.events import lane_words

__all__ = ["TEMPLATES_DIR", "Rendered", "Templates", "slack_escape"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    slack: str


def _day(value: str | date) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day:%A} {day.day} {day:%B %Y}"


def _points(value: int) -> str:
    return _many(value, "point")


def _many(value: int, noun: str) -> str:
    """``3 finished requests``, ``1 finished request``."""
    return f"{value} {noun}" if value == 1 else f"{value} {noun}s"


def _percent(value: float) -> str:
    return f"{value:.0%}"


def slack_escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Templates:
    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self._env = Environment(loader=FileSystemLoader(directory), undefined=StrictUndefined, autoescape=False,
                                trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                                auto_reload=False)  # templates change with a release: no stat() per notice
        self._env.filters.update(lane=lane_words, day=_day, points=_points, percent=_percent, many=_many)
        self._env.globals["m"] = self._env.get_template("_macros.j2").module

    def names(self) -> list[str]:
        return sorted(n.removesuffix(".j2") for n in self._env.list_templates(extensions=["j2"])
                      if not n.startswith("_"))

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        template = self._env.get_template(f"{name}.j2")

        def block(block_name: str) -> str:
            text = "".join(template.blocks[block_name](template.new_context(dict(context))))
            return _BLANK_LINES.sub("\n\n", text).strip()

        subject, body = " ".join(block("subject").split()), block("body")
        slack = block("slack") if "slack" in template.blocks else f"*{subject}*\n{body}"
        return Rendered(subject=subject, text=body, slack=slack_escape(slack))

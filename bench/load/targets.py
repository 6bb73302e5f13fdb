"""Vegeta's targets: distinct ``POST /v1/requests``, each with its own Idempotency-Key and a valid body
(the pipeline volume test, tests/e2e/test_pipeline_volume.py, posts the same bodies).

The bodies are the product brief's stories (``data/stories.json``), across every lane; none is expedited,
so every request's first decision is ``request.scheduled`` or ``request.backlogged`` and its requester
hears of it. Two corpora:

- ``varied`` (the default): each story made a piece of work of its own, for one of 192 accounts, in one of
  25 cities, by one of 11 months, the way real traffic asks for the same kinds of work again and again; every
  tenth request asks again, in another stakeholder's name, what a request five before asked, so about
  one in ten is a duplicate of another stakeholder's, and its reuse notices go out.
- ``stories``: the nine stories again and again, only the title made unique. Every request is a near-copy
  of dozens of open ones, so each sends reuse notices to both requesters and to ops: the worst case for
  the classifier and the notifier, not the traffic a team sees.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from shared.events import RequestDetails

__all__ = ["CORPORA", "body", "stories", "varied", "write_targets"]

# Story fields that describe the demo, not the request.
_NOT_THE_BODY = ("story", "due_next_cycle", "expedite", "justification")


def stories(path: Path) -> list[dict[str, Any]]:
    """The stories as request bodies, checked against the contract once."""
    bodies = []
    for story in json.loads(path.read_text()):
        body = {k: v for k, v in story.items() if k not in _NOT_THE_BODY}
        RequestDetails.model_validate(body)
        bodies.append(body)
    return bodies


def body(template: dict[str, Any], label: str) -> dict[str, Any]:
    """One story as a distinct request: its title ends with ``[label]``."""
    title = f"{template['title'][:170]} [{label}]"
    return {**template, "title": title}


# Accounts, cities and months cycle at lengths prime to each other (and to the nine stories), so
# neighbouring requests differ in all of them and no two of the first 9 * 192 * 25 * 11 / 3 = 158,400 match.
_ACCOUNTS = [f"{first} {second}" for second in (
    "Logistics", "Health", "Bank", "Foods", "Energy", "Airlines", "Insurance", "Retail") for first in (
    "Alder", "Bramwell", "Cresswell", "Dunmore", "Elstree", "Farrow", "Glenmore", "Hadley", "Ivybridge", "Kendal",
    "Larchmont", "Marston", "Norbury", "Oakhurst", "Pemberton", "Quenby", "Redhill", "Stanmore", "Thornbury",
    "Upton", "Westbury", "Yardley", "Ashcombe", "Bexley")]
_CITIES = ("Madrid", "Toronto", "Chicago", "Berlin", "Paris", "Milan", "Dublin", "Vienna", "Prague", "Warsaw",
           "Boston", "Denver", "Atlanta", "Singapore", "Tokyo", "Mumbai", "Dubai", "Istanbul", "Athens", "Oslo",
           "Rome", "Barcelona", "Seattle", "Dallas", "Helsinki")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November")
ASKED_AGAIN_EVERY, ASKED_AGAIN_FROM = 10, 5  # every tenth request repeats the one five before it


def varied(templates: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The ``n``th request of the ``varied`` corpus: story ``n`` for an account, a city and a month of its own,
    or, every tenth, request ``n - 5``'s work asked by story ``n``'s requester."""
    work = n - ASKED_AGAIN_FROM if n % ASKED_AGAIN_EVERY == ASKED_AGAIN_EVERY - 1 else n
    template = templates[work % len(templates)]
    account = _ACCOUNTS[work % len(_ACCOUNTS)]
    city, month = _CITIES[work % len(_CITIES)], _MONTHS[work % len(_MONTHS)]
    return {**template, "requester": templates[n % len(templates)]["requester"],
            "title": f"{template['title'][:120]}: {account}, {city}, {month}",
            "description": f"{template['description']} For {account}'s team in {city}, by {month}."}


CORPORA = ("varied", "stories")


def write_targets(path: Path, *, count: int, url: str, key: str, label: str,
                  templates: list[dict[str, Any]], corpus: str = "varied") -> None:
    """``count`` vegeta JSON targets, one body and one Idempotency-Key each (``<label>-<n>``)."""
    with path.open("w") as out:
        for n in range(count):
            # Varied titles are distinct already; the stories' are made so with the target's label.
            request = varied(templates, n) if corpus == "varied" else body(templates[n % len(templates)],
                                                                              f"{label}-{n}")
            out.write(json.dumps({
                "method": "POST", "url": f"{url}/v1/requests",
                "body": base64.b64encode(json.dumps(request).encode()).decode(),
                "header": {"Authorization": [f"Bearer {key}"], "Content-Type": ["application/json"],
                           "Idempotency-Key": [f"{label}-{n}"]},
            }) + "\n")

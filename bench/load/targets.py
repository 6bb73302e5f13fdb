"""Vegeta's targets: distinct ``POST /v1/requests``, each with its own Idempotency-Key and a valid body
(the pipeline volume test, tests/e2e/test_pipeline_volume.py, posts the same bodies).

The bodies are the product brief's stories (``data/stories.json``), across every lane, each title made
unique; none is expedited, so every request's first decision is ``request.scheduled`` or
``request.backlogged`` and its requester hears of it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from shared.events import RequestDetails

__all__ = ["body", "stories", "write_targets"]

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


def write_targets(path: Path, *, count: int, url: str, key: str, label: str,
                  templates: list[dict[str, Any]]) -> None:
    """``count`` vegeta JSON targets, one body and one Idempotency-Key each (``<label>-<n>``)."""
    with path.open("w") as out:
        for n in range(count):
            request = body(templates[n % len(templates)], f"{label}-{n}")
            out.write(json.dumps({
                "method": "POST", "url": f"{url}/v1/requests",
                "body": base64.b64encode(json.dumps(request).encode()).decode(),
                "header": {"Authorization": [f"Bearer {key}"], "Content-Type": ["application/json"],
                           "Idempotency-Key": [f"{label}-{n}"]},
            }) + "\n")

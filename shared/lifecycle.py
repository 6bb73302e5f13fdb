"""A request's status: one state machine, defined once, that every service and view derives from.

    submitted → classified → committed | backlogged → in_progress ⇄ paused → done
    withdrawn and merged from any open status

A status changes only by an allowed transition; an event that would make any other
move leaves the status as it is (it still lands on the timeline). So a paused card
that the planner lists again in the backlog (``request.backlogged``) reads ``paused``
until it is committed again or started; a late ``request.classified`` never takes a
committed request back; and the first terminal event is final.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

__all__ = ["BOARD_COLUMN", "OPEN", "STATUSES", "STATUS_AFTER", "TERMINAL", "TRANSITIONS", "Status",
           "can_withdraw", "fold_status", "next_status"]

Status = Literal["submitted", "classified", "backlogged", "committed", "in_progress", "paused",
                 "done", "withdrawn", "merged"]
STATUSES: tuple[Status, ...] = get_args(Status)
TERMINAL: frozenset[Status] = frozenset({"done", "withdrawn", "merged"})
OPEN: frozenset[Status] = frozenset(STATUSES) - TERMINAL

# The status each lifecycle event asks for; other event types never change a status.
STATUS_AFTER: dict[str, Status] = {
    "request.submitted": "submitted",
    "request.classified": "classified",
    "request.backlogged": "backlogged",
    "request.scheduled": "committed",
    "request.started": "in_progress",
    "request.paused": "paused",
    "request.done": "done",
    "request.withdrawn": "withdrawn",
    "request.merged": "merged",
}

def _to(*statuses: Status) -> frozenset[Status]:
    """Where a status may go: the statuses named, and closing (withdrawn, merged) from any open one."""
    return frozenset((*statuses, "withdrawn", "merged")) if statuses else frozenset()


# Allowed moves. Backlogged → backlogged is a new position; paused work comes back by being committed
# to a later cycle (the planner puts it at the head of the backlog) or by being started again.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    "submitted": _to("classified", "backlogged", "committed"),
    "classified": _to("backlogged", "committed"),
    "backlogged": _to("backlogged", "committed"),
    "committed": _to("in_progress", "paused", "done"),
    "in_progress": _to("paused", "done"),
    "paused": _to("committed", "in_progress", "done"),
    "done": _to(),
    "withdrawn": _to(),
    "merged": _to(),
}

# Where a request of each status stands on the board; closed requests leave it (done stays in view).
BOARD_COLUMN: dict[Status, str] = {
    "submitted": "backlog", "classified": "backlog", "backlogged": "backlog", "committed": "committed",
    "in_progress": "in_progress", "paused": "paused", "done": "done",
}


def next_status(current: Status, event_type: str) -> Status:
    """The status after ``event_type``: the one it asks for when the machine allows the move, else ``current``."""
    wanted = STATUS_AFTER.get(event_type)
    if wanted is None or wanted not in TRANSITIONS[current]:
        return current
    return wanted


def fold_status(event_types: Iterable[str], start: Status = "submitted") -> Status:
    """The status after a request's lifecycle events, taken in the order they happened."""
    status = start
    for event_type in event_types:
        status = next_status(status, event_type)
    return status


def can_withdraw(status: Status) -> bool:
    return status not in TERMINAL

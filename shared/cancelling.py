"""Loops that run until their task is cancelled, made to stop even when something they await swallows it.

Some client code catches ``CancelledError`` and carries on (or returns normally), so a loop whose task was
cancelled mid-call would go round again, forever, and whoever awaits the task (a shutdown's gather) hangs.
Python 3.11 keeps the request on the task (``Task.cancelling``) even when the error was swallowed: a loop
calls ``stop_if_cancelled`` on each turn and ends as it was asked to.
"""

from __future__ import annotations

import asyncio

__all__ = ["stop_if_cancelled"]


def stop_if_cancelled() -> None:
    """Raise ``CancelledError`` when the running task was asked to stop, whatever swallowed the request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError

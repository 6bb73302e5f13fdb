"""JSON log lines: one object per line with time, level, service, logger, message, and whatever
the current event or request is (``event_id``, ``event_type``, ``request_id``), plus the current
``trace_id`` and ``span_id``, so a log line leads to its trace and back.

Every record goes through the standard ``logging`` module (the services', uvicorn's, aiokafka's,
FastStream's) and is rendered by structlog's ``ProcessorFormatter``. Values under names that hold
secrets (authorization, api keys, passwords, secrets, signatures) are masked wherever they appear.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import IO, Any

import structlog
from structlog.contextvars import bound_contextvars, merge_contextvars
from structlog.types import EventDict, Processor, WrappedLogger

from shared.observability.tracing import current_ids

__all__ = ["configure_logging", "log_context", "mask_secrets"]

_SECRET_WORDS = ("authorization", "api_key", "apikey", "password", "secret", "signature", "token", "cookie")
MASK = "***"


def mask_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Mask values whose key names a secret, at any depth of dicts."""
    return _masked(event)


def _masked(values: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(values.items()):
        if any(word in key.lower() for word in _SECRET_WORDS):
            values[key] = MASK
        elif isinstance(value, dict):
            values[key] = _masked(dict(value))
    return values


def _trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    ids = current_ids()
    if ids is not None:
        event["trace_id"], event["span_id"] = ids
    return event


def _service(name: str) -> Processor:
    def add(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
        event.setdefault("service", name)
        return event

    return add


def configure_logging(service: str, level: str, *, json: bool = True, stream: IO[str] | None = None) -> None:
    """Route every ``logging`` record to stderr as one JSON object per line (or readable text)."""
    shared: list[Processor] = [
        merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _service(service),
        _trace_ids,
        structlog.stdlib.ExtraAdder(),
        mask_secrets,
    ]
    renderer: Processor = (structlog.processors.JSONRenderer() if json
                           else structlog.dev.ConsoleRenderer(colors=False))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, structlog.processors.EventRenamer("message"),
                    renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka",):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # httpx logs every request's full URL at INFO: a Slack incoming webhook's path is its secret.
    for client in ("httpx", "httpcore"):
        logging.getLogger(client).setLevel(logging.WARNING)
    # uvicorn's own loggers propagate to the root handler instead of printing text of their own.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Add ``values`` to every log line written inside the block (in this task)."""
    with bound_contextvars(**{k: v for k, v in values.items() if v is not None}):
        yield

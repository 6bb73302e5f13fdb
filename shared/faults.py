"""Faults of the infrastructure, not of a message or a call: what consumers wait out and HTTP answers with 503."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError
from redis._parsers.base import BaseParser
from redis.exceptions import (
    BusyLoadingError,
    ExecAbortError,
    LockError,
    MasterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["TRANSIENT", "RedisBusyError", "RedisPersistenceError"]


class RedisPersistenceError(ResponseError):
    """Redis refuses writes because it cannot write its append-only file or snapshot to disk (``MISCONF``)."""


# redis-py raises MISCONF as a plain ResponseError, the class a bug's error (WRONGTYPE, a bad argument) has
# too, and offers no public way to name another reply prefix: its parser's table is the one place to.
BaseParser.EXCEPTION_CLASSES.setdefault("MISCONF", RedisPersistenceError)


class RedisBusyError(ResponseError):
    """Redis runs a script past its time limit and answers every other command ``BUSY`` until it ends or is
    killed (``SCRIPT KILL``): a fault of the server, not of the call."""


BaseParser.EXCEPTION_CLASSES.setdefault("BUSY", RedisBusyError)

# Faults of the infrastructure, not of the message: retried until they pass. A Redis at its memory
# limit (noeviction), turned read-only (a replica), unable to persist (a full disk) or refusing a command
# by its ACL refuses until an operator acts; the events wait for it, uncommitted, rather than filling the
# dead-letter list, and an HTTP call meanwhile answers 503.
TRANSIENT: tuple[type[Exception], ...] = (
    RedisConnectionError, RedisTimeoutError, LockError, OutOfMemoryError, ReadOnlyError, BusyLoadingError,
    TryAgainError, MasterDownError, ExecAbortError, RedisPersistenceError, RedisBusyError, NoPermissionError,
    KafkaError,
    asyncio.TimeoutError, ConnectionError,
)

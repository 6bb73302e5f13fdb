"""The consumed message reaches a handler without a worker thread (``shared.runtime._AwaitedContext``)."""

from __future__ import annotations

from typing import Annotated, Any

import fast_depends.utils
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.message import KafkaMessage

from shared.runtime import _AwaitedContext


def _no_worker_threads(*_: Any, **__: Any) -> Any:
    raise AssertionError("a worker thread was used to resolve a handler's argument")


async def test_the_message_of_a_batch_is_resolved_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_depends.utils, "run_in_threadpool", _no_worker_threads)
    broker = KafkaBroker()
    seen: list[Any] = []

    async def handler(msg: Annotated[KafkaMessage, _AwaitedContext("message")]) -> None:
        seen.append(msg.body)

    broker.subscriber("governance.test", batch=True)(handler)
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(b'{"a": 1}', "governance.test")
        await test_broker.publish(b'{"b": 2}', "governance.test")
    assert seen == [[b'{"a": 1}'], [b'{"b": 2}']]

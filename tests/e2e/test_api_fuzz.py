"""Schemathesis against each running service's own OpenAPI document, with an ops key and without one.

Every generated call must answer without a server error, with a documented status,
errors as problem+json, and 401 whenever no key is sent to a guarded operation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from redis import Redis
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.stack import SERVICES, ServiceProcess, stack
from tests.infra import Endpoints
from tests.support import AUTH

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# Streams never end, so a fuzzer's call would wait forever; they are tested on their own.
STREAMING = ("/v1/dashboard/stream",)


@pytest.fixture(scope="module")
def fuzzed(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    for db in range(12, 16):
        Redis.from_url(f"{endpoints.redis_base}/{db}").flushdb()
    logs = tmp_path_factory.mktemp("fuzz-logs")
    processes = stack(endpoints.kafka_bootstrap, endpoints.redis_base, "fuzz", logs,
                      extra={"RATE_LIMIT_PER_MINUTE": "100000"})
    try:
        yield processes
    finally:
        for process in processes.values():
            process.stop()
        print(f"\nfuzzed service logs: {logs}")


def errors_are_problems(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        if content_type != "application/problem+json":
            raise Failure(operation=case.operation.label, title="Error is not problem+json",
                          message=f"{response.status_code} answered as {content_type!r}")
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          errors_are_problems]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def call(case: Case[Any], process: ServiceProcess, key: bool, mode: GenerationMode) -> None:
    response = case.call(base_url=process.url, headers=AUTH if key else None, timeout=30)
    case.validate_response(response, checks=CHECKS)
    if not key and case.operation.definition.raw.get("security"):
        # A valid call without a key is 401; a body that is not even JSON may be refused as such first.
        allowed = {401} if mode is GenerationMode.POSITIVE else {400, 401, 413, 422}
        assert response.status_code in allowed, (case.operation.label, response.status_code, response.text)


@pytest.mark.parametrize("mode", list(GenerationMode))
@pytest.mark.parametrize("service", SERVICES)
def test_every_generated_call_is_answered_as_documented(fuzzed: dict[str, ServiceProcess], service: str,
                                                        mode: GenerationMode) -> None:
    process = fuzzed[service]
    if not process.running:
        process.start()
    schema = schemathesis.openapi.from_url(f"{process.url}/openapi.json").exclude(path=list(STREAMING))
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert operations, f"{service} documents no operation"
    tried = 0
    for operation in operations:
        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def each(case: Case[Any]) -> None:
            call(case, process, key=True, mode=mode)
            call(case, process, key=False, mode=mode)

        try:
            each()
            tried += 1
        except Unsatisfiable:
            # An operation without parameters or body has no invalid input to generate.
            assert mode is GenerationMode.NEGATIVE, operation.label
    assert tried, f"none of the {len(operations)} operations could be fuzzed"

"""The two doors the intake is measured against, each a process of its own on the same machine:

    BASELINE_MODE=bare  BASELINE_PORT=... python -m bench.load.baseline   # FastAPI + pydantic, answer 202
    BASELINE_MODE=kafka BASELINE_PORT=... BASELINE_KAFKA_* python -m bench.load.baseline
                                                                      # the same plus one awaited acks=all produce

Same route, the same body model as intake (``RequestDetails``), the same uvicorn and Python; nothing
else (no key check, no idempotency record, no Redis).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import RequestDetails
from shared.kafka_auth import KafkaAuth

__all__ = ["BaselineSettings", "create_app"]


class BaselineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BASELINE_")

    mode: Literal["bare", "kafka"]
    port: int
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    topic: str = "bench.baseline"


class Accepted(BaseModel):
    id: str
    status: Literal["submitted"]


def create_app(settings: BaselineSettings) -> FastAPI:
    auth = KafkaAuth(settings.kafka_username,
                     settings.kafka_password.get_secret_value() if settings.kafka_password else None)
    producer: AIOKafkaProducer | None = None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal producer
        if settings.mode == "kafka":  # aiokafka wants its loop running when the producer is made
            producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                        enable_idempotence=True, **auth.client_options())
            await producer.start()
        try:
            yield
        finally:
            if producer is not None:
                await producer.stop()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/requests", status_code=202, response_model=Accepted)
    async def submit(body: RequestDetails, authorization: Annotated[str, Header()],
                     idempotency_key: Annotated[str | None, Header()] = None) -> Any:
        request_id = str(uuid.uuid4())
        if producer is not None:
            await producer.send_and_wait(settings.topic, body.model_dump_json().encode(), key=request_id.encode())
        return JSONResponse({"id": request_id, "status": "submitted"}, status_code=202)

    return app


if __name__ == "__main__":
    settings = BaselineSettings()
    uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning",
                access_log=False, log_config=None)

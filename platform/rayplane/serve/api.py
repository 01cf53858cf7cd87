"""The HTTP API of a served model: predict, health, model card and the OpenAPI docs (FastAPI).

The predict route reads the raw body and checks it with the version's generated record schema itself
(``rayplane.serve.schema``): one JSON parse, one pydantic-core pass and one ``json.dumps`` per request, and
errors that name the record and field. The schema still reaches /docs through ``openapi_extra``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, create_model

from rayplane.metrics import observe_request
from rayplane.registry import ModelVersion
from rayplane.serve.schema import Rejected, parse_records, record_json_schema, records_validator


class ModelRef(BaseModel):
    name: str
    version: int


class BinaryAnswer(BaseModel):
    label: int = Field(description="1 when probability >= 0.5")
    probability: float = Field(description="Probability of the positive class")


class MulticlassAnswer(BaseModel):
    label: int = Field(description="The most probable class")
    probabilities: list[float] = Field(description="One probability per class, 0..num_classes-1")


class RegressionAnswer(BaseModel):
    prediction: float


ANSWERS: dict[str, type[BaseModel]] = {
    "binary": BinaryAnswer,
    "multiclass": MulticlassAnswer,
    "regression": RegressionAnswer,
}


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(BaseModel):
    detail: list[ErrorDetail]
    error_count: int | None = Field(None, description="All problems found; detail lists the first ones")


class Message(BaseModel):
    detail: str


# Wire size a record may take: generous for any real record (dozens of columns of numbers and short strings).
# A body larger than ``max_records_per_request`` of them is refused while it is read, before it fills memory.
MAX_RECORD_BYTES = 16 * 1024


class ModelServing(Protocol):
    """What the routes need from the replica (``rayplane.serve.app.ModelServer``)."""

    version: ModelVersion
    example: dict[str, Any]
    max_records: int

    async def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def drift(self) -> dict[str, Any]: ...


def make_api(server: ModelServing) -> FastAPI:
    version = server.version
    meta = version.metadata
    input_schema = meta["input_schema"]
    columns = [col["name"] for col in input_schema]
    validator = records_validator(input_schema)
    model_ref = {"name": version.name, "version": version.version}
    record_schema = record_json_schema(input_schema, server.example)

    answer = ANSWERS[meta["task"]]
    response = create_model("PredictResponse", predictions=(list[answer], ...), model=(ModelRef, ...))

    app = FastAPI(
        title=f"{version.name} v{version.version}",
        version=str(version.version),
        description=f"Predictions of the {meta['task']} model {version.uri}. POST one record or a list of "
        f"records to /predict; each answer is in the order of the records sent.",
    )

    @app.post(
        "/predict",
        response_model=response,
        summary="Predict for one record or a list of records",
        responses={
            400: {"model": Message, "description": "The body is not valid JSON"},
            413: {"model": Message, "description": "More records than serve.max_records_per_request, "
                  "or more bytes than that many records take"},
            422: {"model": ValidationErrors, "description": "A record does not match the schema"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [record_schema, {"type": "array", "items": record_schema, "minItems": 1}],
                        },
                        "example": server.example,
                    }
                },
            }
        },
    )
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await read_body(request, server.max_records * MAX_RECORD_BYTES)
            records = parse_records(body, validator, columns, server.max_records)
        except Rejected as exc:
            observe_request(version.name, version.version, time.perf_counter() - started, 0, exc.status)
            return JSONResponse(exc.body(), status_code=exc.status)
        answers = await server.predict(records)
        body = json.dumps({"predictions": answers, "model": model_ref}, separators=(",", ":"))
        observe_request(version.name, version.version, time.perf_counter() - started, len(records))
        return Response(body, media_type="application/json")

    @app.get("/healthz", summary="200 once the model is loaded")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "model": model_ref}

    @app.get("/drift", summary="Per-feature drift (PSI, null rates, unseen categories) of this replica's recent "
             "requests against the training data")
    async def drift() -> dict[str, Any]:
        return server.drift()

    @app.get("/model", summary="The served version: metrics, parameters and input schema")
    async def model_card() -> dict[str, Any]:
        return {
            **model_ref,
            "task": meta["task"],
            "metrics": meta.get("metrics", {}),
            "params": meta.get("params", {}),
            "created_at": meta.get("created_at"),
            # A compressed variant names its kind and parent version (rayplane models quantize); else null.
            "variant": meta.get("variant"),
            "input_schema": input_schema,
        }

    return app


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or ``Rejected`` (413) as soon as it is known to exceed ``limit`` bytes."""
    too_large = Rejected(413, f"the body is over {limit:,} bytes (serve.max_records_per_request records of at "
                              f"most {MAX_RECORD_BYTES:,} bytes each)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():  # a chunked body declares no length
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)

"""The request body a model version accepts, generated from its registered input schema, and its checking.

A record is a ``TypedDict`` (validated by pydantic-core straight into plain dicts, so the request path never
builds model objects) that forbids unknown keys, takes no strings for numbers, accepts ints for floats and
refuses NaN and infinities. Every column must be sent; a nullable one may be null (the preprocessor imputes
it), so a misspelt key is reported as both unknown and missing rather than silently imputed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from rayplane.errors import ServeError
from rayplane.spec.suggest import did_you_mean

DTYPES: dict[str, type] = {"float": float, "int": int, "string": str}
RECORD_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
# Enough to fix a body without answering a 10,000-record mistake with 10,000 errors.
MAX_ERRORS = 20


class Rejected(Exception):
    """A request body the model cannot take: an HTTP status and a FastAPI-style ``detail``."""

    def __init__(self, status: int, detail: str | list[dict[str, Any]], error_count: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error_count = error_count

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.error_count is not None:
            body["error_count"] = self.error_count
        return body


def check_input_schema(input_schema: Any) -> list[dict[str, Any]]:
    """The registered ``input_schema`` if it is a usable list of columns; ServeError naming the bad entry."""
    if not isinstance(input_schema, list) or not input_schema:
        raise ServeError(f"input_schema must be a non-empty list of columns, got {input_schema!r}")
    seen: set[str] = set()
    for i, col in enumerate(input_schema):
        if not isinstance(col, dict) or not isinstance(col.get("name"), str) or not col["name"]:
            raise ServeError(f"input_schema[{i}]: expected {{name, dtype, nullable}}, got {col!r}")
        if col.get("dtype") not in DTYPES:
            raise ServeError(
                f"input_schema[{i}] ({col['name']!r}): dtype {col.get('dtype')!r} is not one of {', '.join(DTYPES)}"
                f"{did_you_mean(col.get('dtype'), DTYPES)}"
            )
        if col["name"] in seen:
            raise ServeError(f"input_schema[{i}]: column {col['name']!r} is listed twice")
        seen.add(col["name"])
    return input_schema


def record_type(input_schema: list[dict[str, Any]]) -> type:
    """A TypedDict with one key per input column (keys are the column names exactly, whatever they are)."""
    fields: dict[str, Any] = {}
    for col in check_input_schema(input_schema):
        kind = DTYPES[col["dtype"]]
        nullable = bool(col.get("nullable", False))
        what = f"{col['dtype']}{', or null (imputed)' if nullable else ''}"
        fields[col["name"]] = Annotated[kind | None if nullable else kind, Field(description=what)]
    record = TypedDict("Record", fields)
    record.__pydantic_config__ = RECORD_CONFIG
    return record


def records_validator(input_schema: list[dict[str, Any]]) -> TypeAdapter:
    return TypeAdapter(list[record_type(input_schema)])


def record_json_schema(input_schema: list[dict[str, Any]], example: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(record_type(input_schema)).json_schema()
    schema["examples"] = [example]
    return schema


def parse_records(body: bytes, validator: TypeAdapter, columns: list[str], max_records: int) -> list[dict[str, Any]]:
    """One JSON record or a non-empty list of them -> validated records; ``Rejected`` says what is wrong."""
    try:
        data = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise Rejected(400, f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # the parser recurses once per level of [ or {
        raise Rejected(400, "the body is not valid JSON for a record: arrays or objects nested too deeply") from None
    single = isinstance(data, dict)
    records = [data] if single else data
    if not isinstance(records, list):
        raise Rejected(422, [_error(["body"], "the body must be one record (a JSON object) or a list of records, "
                                              f"got {_json_type(data)}", "body_type")])
    if not records:
        raise Rejected(422, [_error(["body"], "the list of records is empty; send at least one", "too_short")])
    if len(records) > max_records:
        raise Rejected(413, f"{len(records)} records in one request; at most {max_records} are accepted "
                            "(serve.max_records_per_request)")
    try:
        return validator.validate_python(records)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        detail = [_explain(err, single, columns) for err in errors[:MAX_ERRORS]]
        raise Rejected(422, detail, error_count=len(errors)) from None


def _explain(err: dict[str, Any], single: bool, columns: list[str]) -> dict[str, Any]:
    """A pydantic error as FastAPI shapes it, with a message that names the field and what was sent."""
    index, *rest = err["loc"]
    loc = ["body", *rest] if single else ["body", index, *rest]
    where = "" if single else f"record {index}: "
    if not rest:
        return _error(loc, f"{where}a record must be a JSON object, got {_json_type(err['input'])}", err["type"])
    field = str(rest[-1])
    if err["type"] == "extra_forbidden":
        msg = f"unknown field {field!r}{did_you_mean(field, columns)}"
    elif err["type"] == "missing":
        msg = f"required field {field!r} is missing"
    else:
        msg = f"field {field!r}: {err['msg']}, got {_json_type(err['input'])} {_short(err['input'])}"
    return _error(loc, where + msg, err["type"])


def _error(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _short(value: Any) -> str:
    text = json.dumps(value)  # NaN and Infinity print as the tokens that were sent
    return text if len(text) <= 40 else text[:37] + "..."


def example_record(input_schema: list[dict[str, Any]], typical: dict[str, Any]) -> dict[str, Any]:
    """One valid record: each column's typical training value, else a plain value of its type."""
    record = {}
    for col in input_schema:
        kind = DTYPES[col["dtype"]]
        record[col["name"]] = kind(typical.get(col["name"], kind()))
    return record


def typical_values(preprocessor: Any) -> dict[str, Any]:
    """The training mean of each numeric column and the most frequent category of each categorical one."""
    state = preprocessor.state
    values: dict[str, Any] = {c["name"]: round(c["mean"], 3) for c in state["numeric"]}
    values.update({c["name"]: c["categories"][0] for c in state["categorical"] if c["categories"]})
    return values

"""The Serve application config and the generated request schema, without a cluster."""

from __future__ import annotations

import json

import pytest
from ray.serve.schema import ServeDeploySchema

from rayplane.errors import RegistryError, ServeError
from rayplane.serve import application_config
from rayplane.serve.config import IMPORT_PATH, deployment_options, parse_args
from rayplane.serve.schema import Rejected, check_input_schema, example_record, parse_records, records_validator
from rayplane.spec import load_spec

SCHEMA = [
    {"name": "distance", "dtype": "float", "nullable": False},
    {"name": "temp", "dtype": "float", "nullable": True},
    {"name": "hour", "dtype": "int", "nullable": False},
    {"name": "carrier", "dtype": "string", "nullable": True},
    # Not an identifier, and a BaseModel attribute name: keys are taken as they are.
    {"name": "wind speed", "dtype": "float", "nullable": True},
    {"name": "schema", "dtype": "string", "nullable": False},
]
COLUMNS = [c["name"] for c in SCHEMA]
GOOD = {"distance": 500, "temp": None, "hour": 7, "carrier": "AA", "wind speed": 3.5, "schema": "x"}


def spec(**serve):
    return load_spec({
        "name": "flights_delay",
        "data": {"path": "data", "label": "y", "task": "binary", "features": {"numeric": ["distance"]}},
        "serve": {"max_batch_size": 32, "batch_wait_timeout_s": 0.002, "cpus_per_replica": 0.25,
                  "max_ongoing_requests": 48, "autoscaling": {"min_replicas": 1, "max_replicas": 3,
                                                              "target_ongoing_requests": 8}, **serve},
    }, base_dir="/tmp")


def test_application_config_validates_as_a_serve_deploy_config():
    app = application_config(spec(route_prefix="/flights"), "/models/flights_delay/v3")
    ServeDeploySchema(applications=[app])
    assert app["name"] == "flights_delay" and app["route_prefix"] == "/flights"
    assert app["import_path"] == IMPORT_PATH == "rayplane.serve.app:build_app"
    assert app["args"]["model_dir"] == "/models/flights_delay/v3"
    assert app["logging_config"] == {"enable_access_log": False}
    [deployment] = app["deployments"]
    assert deployment["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 3, "target_ongoing_requests": 8.0}
    assert deployment["max_ongoing_requests"] == 48
    assert deployment["ray_actor_options"] == {"num_cpus": 0.25}
    assert deployment["user_config"] == {"max_batch_size": 32, "batch_wait_timeout_s": 0.002,
                                         "max_records_per_request": 10_000}
    # What KubeRay's serveConfigV2 carries is plain JSON.
    assert json.loads(json.dumps(app)) == app


def test_route_prefix_defaults_to_the_name():
    assert application_config(spec(), "/m/v1")["route_prefix"] == "/flights_delay"


def test_build_args_round_trip_to_the_same_deployment_options():
    s = spec()
    app = application_config(s, "/m/v1")
    model_dir, settings = parse_args(app["args"])
    assert model_dir == "/m/v1"
    assert deployment_options(settings) == app["deployments"][0]


@pytest.mark.parametrize("args, message", [
    ({"max_batch_size": 8}, "'model_dir'"),
    ({"model_dir": "/m", "max_batch_size": 0}, "max_batch_size: Input should be greater than or equal to 1"),
    ({"model_dir": "/m", "max_batch_sise": 8}, "max_batch_sise: Extra inputs are not permitted"),
    ({"model_dir": "/m", "port": 8000}, "port belong to the application or http_options"),
])
def test_bad_build_args_are_serve_errors_naming_the_key(args, message):
    with pytest.raises(ServeError, match="application args") as info:
        parse_args(args)
    assert message in str(info.value)


def test_a_bad_input_schema_is_named():
    with pytest.raises(ServeError, match=r"input_schema\[1\] \('b'\): dtype 'flaot'.*did you mean 'float'"):
        check_input_schema([{"name": "a", "dtype": "float"}, {"name": "b", "dtype": "flaot"}])
    with pytest.raises(ServeError, match="listed twice"):
        check_input_schema([{"name": "a", "dtype": "float"}, {"name": "a", "dtype": "int"}])


def parse(body, max_records=100):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_records(raw, records_validator(SCHEMA), COLUMNS, max_records)


def rejected(body, max_records=100) -> Rejected:
    with pytest.raises(Rejected) as info:
        parse(body, max_records)
    return info.value


def test_one_record_or_a_list_validates_into_plain_dicts():
    assert parse(GOOD) == [{**GOOD, "distance": 500.0}]
    assert parse([GOOD, {**GOOD, "hour": 9}])[1]["hour"] == 9
    # Nullable columns take null, but must still be sent.
    assert parse({**GOOD, "carrier": None, "wind speed": None})[0]["carrier"] is None
    missing = rejected({k: v for k, v in GOOD.items() if k != "temp"})
    assert missing.detail[0]["msg"] == "required field 'temp' is missing"


@pytest.mark.parametrize("record, loc, text", [
    ({**GOOD, "distance": "500"}, ["body", "distance"],
     "field 'distance': Input should be a valid number, got string \"500\""),
    ({**GOOD, "hour": 7.5}, ["body", "hour"], "field 'hour'"),
    ({**GOOD, "hour": True}, ["body", "hour"], "got boolean true"),
    ({**GOOD, "carrier": 7}, ["body", "carrier"], "field 'carrier': Input should be a valid string"),
    ({k: v for k, v in GOOD.items() if k != "distance"}, ["body", "distance"],
     "required field 'distance' is missing"),
    ({**GOOD, "distanse": 1}, ["body", "distanse"], "unknown field 'distanse'; did you mean 'distance'?"),
    ({**GOOD, "distance": None}, ["body", "distance"], "field 'distance'"),
])
def test_bad_fields_are_422_naming_the_field(record, loc, text):
    error = rejected(record)
    assert error.status == 422
    assert error.detail[0]["loc"] == loc
    assert text in error.detail[0]["msg"]


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_422(token):
    body = json.dumps({**GOOD, "wind speed": 0.0}).replace("0.0", token.decode()).encode()
    error = rejected(body)
    assert error.status == 422 and error.detail[0]["loc"] == ["body", "wind speed"]
    assert "finite number" in error.detail[0]["msg"]


def test_body_shape_errors():
    assert rejected(b"{not json").status == 400
    assert rejected(b"\xff\xfe").status == 400
    empty = rejected([])
    assert empty.status == 422 and "empty" in empty.detail[0]["msg"]
    scalar = rejected(3)
    assert scalar.status == 422 and "got number" in scalar.detail[0]["msg"]
    too_many = rejected([GOOD] * 4, max_records=3)
    assert too_many.status == 413 and "4 records" in too_many.detail and "at most 3" in too_many.detail


def test_errors_in_a_list_name_the_record_and_are_capped():
    error = rejected([GOOD, {**GOOD, "hour": "7"}, "oops"])
    assert [d["loc"] for d in error.detail] == [["body", 1, "hour"], ["body", 2]]
    assert error.detail[0]["msg"].startswith("record 1: field 'hour'")
    many = rejected([{}] * 50)
    assert many.error_count == 50 * len(SCHEMA) and len(many.detail) == 20


def test_example_record_is_valid_and_uses_typical_values():
    example = example_record(SCHEMA, {"distance": 812.5, "carrier": "UA", "hour": 13.0})
    assert example["distance"] == 812.5 and example["carrier"] == "UA" and example["hour"] == 13
    assert parse(example) == [example]


def test_the_import_path_builds_the_app_as_serve_builds_it_from_a_config(served_model, tmp_path):
    # What Serve does with an application of a deploy config (KubeRay's serveConfigV2): import the path and
    # call it with the args.
    from ray._common.utils import import_attr
    from ray.serve import Application
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    app = application_config(served_model.spec, served_model.version.location.uri)
    built = call_user_app_builder_with_args_if_necessary(import_attr(app["import_path"]), app["args"])
    assert isinstance(built, Application)
    with pytest.raises(RegistryError, match="unreadable version metadata"):
        call_user_app_builder_with_args_if_necessary(import_attr(app["import_path"]),
                                                     {**app["args"], "model_dir": str(tmp_path)})

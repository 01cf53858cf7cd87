"""`rayplane k8s render`: the flagship spec as a RayJob and a RayService that validate and match the chart."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from k8s.k8s_checks import CHART, REPO, assert_valid, by_kind, helm_error, helm_template

from rayplane.cli.main import main
from rayplane.k8s.schemas import cluster_spec, pod_templates
from rayplane.registry import CHAMPION, ModelRegistry
from rayplane.serve.config import LOGGING, application_config
from rayplane.spec import load_spec

SPEC = REPO / "workloads" / "flights_delay" / "workload.yaml"


def render(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["k8s", "render", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def objects(capsys, *args: str) -> dict[str, dict]:
    code, out, err = render(capsys, str(SPEC), *args)
    assert code == 0, err
    return by_kind([d for d in yaml.safe_load_all(out) if d])


@pytest.fixture(scope="module")
def chart_defaults() -> dict[str, dict]:
    return by_kind(helm_template("--set", "rayJob.enabled=true"))


def test_flagship_renders_valid_objects(capsys):
    kinds = objects(capsys, "--model-version", "3", "--namespace", "ml")
    assert sorted(kinds) == ["RayJob", "RayService"]
    assert_valid(list(kinds.values()))
    job, service = kinds["RayJob"], kinds["RayService"]
    assert job["metadata"]["name"] == "flights-delay-run" and service["metadata"]["name"] == "flights-delay"
    assert {o["metadata"]["namespace"] for o in kinds.values()} == {"ml"}
    assert job["metadata"]["labels"]["rayplane.io/workload"] == "flights_delay"
    assert shlex.split(job["spec"]["entrypoint"]) == [
        "rayplane", "run", "/app/workloads/flights_delay/workload.yaml", "--no-serve"]
    assert job["spec"]["clusterSelector"] == {"ray.io/cluster": "rayplane"}
    assert "runtimeEnvYAML" not in job["spec"], "the spec is baked into the image; nothing to ship"


def test_serve_config_is_the_local_serve_application(capsys):
    service = objects(capsys, "--model-version", "3", "--only", "rayservice")["RayService"]
    spec = load_spec(SPEC)
    expected = {"applications": [application_config(spec, "/mnt/rayplane/models/flights_delay/v3")],
                "logging_config": LOGGING}
    assert yaml.safe_load(service["spec"]["serveConfigV2"]) == expected
    assert service["metadata"]["annotations"]["rayplane.io/model-version"] == "3"
    assert service["spec"]["upgradeStrategy"] == {"type": "NewCluster"}


def test_clusters_come_from_the_chart(capsys, chart_defaults):
    kinds = objects(capsys, "--model-version", "1", "--ephemeral", "--command", "train", "--ttl", "120",
                    "--active-deadline", "3600", "--upgrade-strategy", "None")
    assert_valid(list(kinds.values()))
    chart_job = chart_defaults["RayJob"]["spec"]
    job = kinds["RayJob"]["spec"]
    assert job["rayClusterSpec"] == chart_job["rayClusterSpec"] == cluster_spec(chart_defaults["RayCluster"])
    assert kinds["RayService"]["spec"]["rayClusterConfig"] == chart_job["rayClusterSpec"]
    assert job["submitterPodTemplate"] == chart_job["submitterPodTemplate"]
    assert (job["shutdownAfterJobFinishes"], job["ttlSecondsAfterFinished"], job["activeDeadlineSeconds"]) == (
        True, 120, 3600)
    assert "clusterSelector" not in job
    assert kinds["RayService"]["spec"]["upgradeStrategy"] == {"type": "None"}


@pytest.mark.parametrize("job_args", [["--ephemeral", "--command", "tune"], ["--command", "train"]])
def test_values_make_the_chart_render_the_same_objects(capsys, tmp_path, job_args):
    """The chart's RayJob and RayService, from `render --format values`, equal what render prints."""
    code, values, err = render(capsys, str(SPEC), "--model-version", "2", "--format", "values", *job_args)
    assert code == 0, err
    (tmp_path / "values.yaml").write_text(values)
    chart = by_kind(helm_template("--values", str(tmp_path / "values.yaml")))
    ours = objects(capsys, "--model-version", "2", *job_args)
    assert_valid([chart["RayJob"], chart["RayService"]])
    assert yaml.safe_load(chart["RayService"]["spec"]["serveConfigV2"]) == \
        yaml.safe_load(ours["RayService"]["spec"]["serveConfigV2"])
    assert chart["RayService"]["spec"]["rayClusterConfig"] == ours["RayService"]["spec"]["rayClusterConfig"]
    for field in ("rayClusterSpec", "clusterSelector", "shutdownAfterJobFinishes", "submitterPodTemplate"):
        assert chart["RayJob"]["spec"].get(field) == ours["RayJob"]["spec"].get(field), field
    assert shlex.split(chart["RayJob"]["spec"]["entrypoint"]) == shlex.split(ours["RayJob"]["spec"]["entrypoint"])


def test_chart_ci_rayservice_values_are_current(capsys):
    code, out, err = render(capsys, str(SPEC), "--only", "rayservice", "--format", "values", "--model-version", "1")
    assert code == 0, err
    committed = yaml.safe_load((CHART / "ci" / "rayservice-values.yaml").read_text())
    assert committed["rayService"] == yaml.safe_load(out)["rayService"]


def test_working_dir_ships_the_spec(capsys):
    job = objects(capsys, "--only", "rayjob", "--working-dir", "s3://bucket/flights_delay.zip", "--command", "tune")
    assert_valid(list(job.values()))
    spec = job["RayJob"]["spec"]
    assert yaml.safe_load(spec["runtimeEnvYAML"]) == {"working_dir": "s3://bucket/flights_delay.zip"}
    assert shlex.split(spec["entrypoint"]) == ["rayplane", "tune", "workload.yaml"]


def test_latest_version_from_a_mounted_registry(capsys, tmp_path):
    """With the storage mounted here (its path is the chart's storage.mountPath), the latest version serves."""
    root = tmp_path / "shared"
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    for name in ("model.pt", "preprocessor.json"):
        (artifacts / name).write_text("{}")
    registry = ModelRegistry(root / "models")
    for _ in range(2):
        registry.register("flights_delay", artifacts, {"metrics": {}})
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(helm_template(
        "--set", f"rayJob.enabled=true,storage.mountPath={root}", "--show-only", "templates/rayjob.yaml")[0]))
    service = objects(capsys, "--template", str(template), "--only", "rayservice")["RayService"]
    app = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"][0]
    assert app["args"]["model_dir"] == f"{root}/models/flights_delay/v2"
    assert service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "RAYPLANE_HOME", "value": str(root)}


def test_latest_version_from_a_registry_on_object_storage(capsys, tmp_path, s3_bucket):
    """A bucket root, written by the chart's objectStore mode: the laptop reads the registry from the bucket."""
    root = f"{s3_bucket}/rayplane"
    registry = ModelRegistry(f"{root}/models")
    for _ in range(3):
        registry.register("flights_delay", {"model.pt": b"w", "preprocessor.json": b"{}"}, {"metrics": {}})
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(helm_template(
        "--set", f"rayJob.enabled=true,storage.mode=objectStore,storage.objectStore.uri={root}",
        "--show-only", "templates/rayjob.yaml")[0]))
    service = objects(capsys, "--template", str(template), "--only", "rayservice")["RayService"]
    app = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"][0]
    assert app["args"]["model_dir"] == f"{root}/models/flights_delay/v3"
    # Once a version is champion, the RayService serves it: after a promotion only serveConfigV2 changes.
    registry.alias_log("flights_delay", CHAMPION).append(2, "promote", previous=None)
    code, out, err = render(capsys, str(SPEC), "--template", str(template), "--only", "rayservice")
    assert code == 0 and "note: the RayService serves flights_delay:v2 (champion)" in err
    assert "only its serveConfigV2 changes, and KubeRay updates it in place" in err
    promoted = by_kind([d for d in yaml.safe_load_all(out) if d])["RayService"]
    app = yaml.safe_load(promoted["spec"]["serveConfigV2"])["applications"][0]
    assert app["args"]["model_dir"] == f"{root}/models/flights_delay/v2"
    assert promoted["metadata"]["annotations"]["rayplane.io/model-version"] == "2"
    changed = {key for key in service["spec"] if service["spec"][key] != promoted["spec"][key]}
    assert changed == {"serveConfigV2"}


def test_without_a_version_only_the_job_renders(capsys):
    code, out, err = render(capsys, str(SPEC))
    assert code == 0
    assert [d["kind"] for d in yaml.safe_load_all(out)] == ["RayJob"]
    assert "no RayService" in err and "--model-version" in err


def spec_copy(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(SPEC.read_text())
    raw.update(changes)
    path = tmp_path / "workload.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_spec_storage_root_is_kept_when_shared(capsys, tmp_path):
    path = spec_copy(tmp_path, storage={"root": "/data/team-a"})
    code, out, err = render(capsys, str(path), "--only", "rayservice", "--model-version", "4")
    assert code == 0, err
    app = yaml.safe_load(yaml.safe_load(out)["spec"]["serveConfigV2"])["applications"][0]
    assert app["args"]["model_dir"] == "/data/team-a/models/flights_delay/v4"


@pytest.mark.parametrize("args,message", [
    (["--working-dir", "./workloads/flights_delay"], "--working-dir ./workloads/flights_delay: not a URI"),
    (["--working-dir", "file:///tmp/w.zip"], "not a URI the cluster can fetch"),
    (["--name", "a-name-that-is-far-too-long-for-what-kuberay-allows"], "at most 47 characters"),
    (["--name", "Flights"], "'Flights-run' must be a DNS-1035 label"),
    (["--only", "rayservice"], "no registered version of 'flights_delay' found under /mnt/rayplane/models"),
    (["--model-version", "0"], "--model-version"),
    (["--command", "serve"], "'serve' is not one of 'run', 'train', 'tune'"),
])
def test_bad_options_say_what_to_fix(capsys, args, message):
    code, _, err = render(capsys, str(SPEC), *args)
    assert code != 0
    assert message in err


def test_relative_storage_root_is_refused(capsys, tmp_path):
    code, _, err = render(capsys, str(spec_copy(tmp_path, storage={"root": "runs"})), "--model-version", "1")
    assert code == 1
    assert "storage.root: 'runs' is not a place every pod shares" in err


def test_template_must_be_a_chart_rayjob(capsys, tmp_path):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(yaml.safe_dump(by_kind(helm_template())["RayCluster"]))
    code, _, err = render(capsys, str(SPEC), "--template", str(cluster))
    assert code == 1
    assert f"{cluster}: expected one RayJob rendered by the rayplane chart" in err
    code, _, err = render(capsys, str(SPEC), "--template", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read it" in err


@pytest.mark.parametrize("release", ["rayplane", "ml", "team-rayplane-prod"])
def test_release_names_the_account_claim_labels_and_cluster(capsys, release):
    """Without --template, the packaged chart rendering is the chart's for --release: the submitter's account,
    the storage claim and the pod labels (which the release's NetworkPolicy selects) all exist for it."""
    chart = by_kind(helm_template("--set", "rayJob.enabled=true", release=release))
    kinds = objects(capsys, "--model-version", "1", "--release", release)
    assert_valid(list(kinds.values()))
    assert kinds["RayService"]["spec"]["rayClusterConfig"] == chart["RayJob"]["spec"]["rayClusterSpec"]
    assert kinds["RayJob"]["spec"]["submitterPodTemplate"] == chart["RayJob"]["spec"]["submitterPodTemplate"]
    assert kinds["RayJob"]["spec"]["clusterSelector"] == {"ray.io/cluster": chart["RayCluster"]["metadata"]["name"]}
    selector = chart["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
    for where, template in [*pod_templates(kinds["RayService"]), *pod_templates(kinds["RayJob"])]:
        assert selector.items() <= template["metadata"]["labels"].items(), where
        assert template["spec"]["serviceAccountName"] in {
            o["metadata"]["name"] for o in chart.values() if o["kind"] == "ServiceAccount"}, where


def test_bad_release_name(capsys):
    code, _, err = render(capsys, str(SPEC), "--release", "ML_team")
    assert code == 1
    assert "--release 'ML_team': not a Helm release name" in err


def test_incremental_upgrade_renders_its_options(capsys, tmp_path):
    args = ["--model-version", "2", "--only", "rayservice", "--upgrade-strategy", "NewClusterWithIncrementalUpgrade",
            "--gateway-class", "istio", "--step-size-percent", "20"]
    service = objects(capsys, *args)["RayService"]
    assert service["spec"]["upgradeStrategy"] == {"type": "NewClusterWithIncrementalUpgrade", "clusterUpgradeOptions": {
        "gatewayClassName": "istio", "stepSizePercent": 20, "intervalSeconds": 30, "maxSurgePercent": 100}}
    assert_valid([service])
    code, values, err = render(capsys, str(SPEC), *args, "--format", "values")
    assert code == 0, err
    (tmp_path / "values.yaml").write_text(values)
    chart = by_kind(helm_template("--values", str(tmp_path / "values.yaml")))["RayService"]
    assert chart["spec"]["upgradeStrategy"] == service["spec"]["upgradeStrategy"]


@pytest.mark.parametrize("args,message", [
    (["--upgrade-strategy", "NewClusterWithIncrementalUpgrade"],
     "--upgrade-strategy NewClusterWithIncrementalUpgrade needs --gateway-class"),
    (["--gateway-class", "istio"], "apply to --upgrade-strategy NewClusterWithIncrementalUpgrade only, not NewCluster"),
    (["--upgrade-strategy", "None", "--step-size-percent", "5"], "only, not None"),
])
def test_incremental_options_belong_to_their_strategy(capsys, args, message):
    code, _, err = render(capsys, str(SPEC), "--model-version", "2", *args)
    assert code == 1
    assert message in err


def test_object_store_template_carries_into_both_objects(capsys, tmp_path):
    """With a template the chart rendered in object-storage mode, the RayJob's and the RayService's Ray
    containers get the bucket, the endpoint and the credentials by Secret reference, and the served model is
    read from the bucket; no secret value and no claim appear anywhere."""
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(helm_template(
        "--values", str(CHART / "ci" / "object-store-values.yaml"), "--show-only", "templates/rayjob.yaml")[0]))
    code, out, err = render(capsys, str(SPEC), "--template", str(template), "--model-version", "3", "--ephemeral")
    assert code == 0, err
    kinds = by_kind([d for d in yaml.safe_load_all(out) if d])
    assert_valid(list(kinds.values()))
    for obj in kinds.values():
        for where, pod in pod_templates(obj):
            if where.endswith("submitterPodTemplate"):
                continue
            env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
            assert env["RAYPLANE_HOME"]["value"] == "s3://rayplane-models/prod", where
            assert env["AWS_ENDPOINT_URL"]["value"] == "http://minio.minio.svc.cluster.local:9000", where
            for name, key in (("AWS_ACCESS_KEY_ID", "access-key"), ("AWS_SECRET_ACCESS_KEY", "secret-key")):
                assert env[name] == {"name": name, "valueFrom": {"secretKeyRef": {"name": "rayplane-s3", "key": key}}}
            assert "RAYPLANE_STORAGE_SHARED" not in env, where
    assert "persistentVolumeClaim" not in out
    app = yaml.safe_load(kinds["RayService"]["spec"]["serveConfigV2"])["applications"][0]
    assert app["args"]["model_dir"] == "s3://rayplane-models/prod/models/flights_delay/v3"


def test_values_have_no_place_for_a_secret():
    for field in ("secretAccessKey", "accessKeyId"):
        assert f"additional properties '{field}' not allowed" in helm_error(
            "--set", f"storage.objectStore.credentials.{field}=AKIA-LITERAL")


def test_gcs_fault_tolerance_template(capsys, tmp_path):
    """From a GCS fault-tolerant release: the RayService's and the ephemeral RayJob's clusters keep the
    release's Redis settings but never its storage namespace, and keep the chart's cleanup timeout."""
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(helm_template(
        "--values", str(CHART / "ci" / "gcs-ft-values.yaml"), "--set", "rayJob.enabled=true",
        "--show-only", "templates/rayjob.yaml")[0]))
    kinds = objects(capsys, "--template", str(template), "--model-version", "1", "--ephemeral")
    assert_valid(list(kinds.values()))
    for obj in kinds.values():
        options = cluster_spec(obj)["gcsFaultToleranceOptions"]
        assert options["redisAddress"] == "redis-master.redis.svc.cluster.local:6379"
        assert "externalStorageNamespace" not in options
        assert obj["metadata"]["annotations"]["ray.io/gcs-ft-deletion-timeout"] == "600"


def test_template_names_the_release_cluster(capsys, tmp_path):
    """A template rendered for release `ml` sends the job to ml's RayCluster without --release or --cluster."""
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(helm_template("--set", "rayJob.enabled=true", "--show-only",
                                                     "templates/rayjob.yaml", release="ml")[0]))
    job = objects(capsys, "--only", "rayjob", "--template", str(template))["RayJob"]
    assert job["spec"]["clusterSelector"] == {"ray.io/cluster": "ml-rayplane"}
    assert job["spec"]["submitterPodTemplate"]["spec"]["serviceAccountName"] == "ml-rayplane"

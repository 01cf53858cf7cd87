"""Ray jobs through the CLI on a real `ray start` head: submit, follow, fail, stop; status; metrics."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap

import pytest
import requests
import yaml

from tests_helpers import free_port, wait_for

pytestmark = pytest.mark.timeout(300)


def test_submit_follows_the_job_to_success(cluster, workload):
    result = cluster.cli("submit", str(workload), "--command", "validate", "--follow", "--submission-id", "ok-1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid workload 'tiny'" in result.stdout
    assert "job ok-1 SUCCEEDED" in result.stdout
    # The spec's directory is the working directory: its relative data path resolves there.
    assert "working_dir_files" in result.stdout

    logs = cluster.cli("jobs", "logs", "ok-1")
    assert logs.returncode == 0 and "valid workload 'tiny'" in logs.stdout
    status = cluster.cli("jobs", "status", "ok-1")
    assert status.returncode == 0 and "ok-1: SUCCEEDED" in status.stdout
    listing = cluster.cli("jobs", "list")
    assert re.search(r"ok-1\s.*SUCCEEDED\s.*tiny", listing.stdout), listing.stdout


def test_an_invalid_spec_is_rejected_before_anything_is_submitted(cluster, workload, tmp_path):
    spec = yaml.safe_load(workload.read_text())
    spec["train"]["epochz"] = 2
    bad = tmp_path / "workload.yaml"
    bad.write_text(yaml.safe_dump(spec))
    result = cluster.cli("submit", str(bad), "--submission-id", "never-1")
    assert result.returncode == 1
    assert "train.epochz: unknown field; did you mean 'epochs'?" in result.stderr
    assert "never-1" not in {job.submission_id for job in cluster.client().jobs.list_jobs()}


def test_a_failing_job_exits_non_zero_with_its_log_tail(cluster, workload):
    result = cluster.cli("submit", str(workload), "--command", "validate", "--wait", "--submission-id", "bad-1",
                         "--", "--no-such-flag")
    assert result.returncode == 1
    assert "No such option '--no-such-flag'" in result.stderr  # the job's own output, from its log tail
    assert "error: job bad-1 FAILED, exit code 2" in result.stderr

    followed = cluster.cli("jobs", "logs", "bad-1", "--follow")
    assert followed.returncode == 1 and "No such option" in followed.stdout
    assert cluster.cli("jobs", "status", "bad-1").returncode == 1


def test_an_unknown_job_is_a_clear_error(cluster):
    result = cluster.cli("jobs", "status", "no-such-job")
    assert result.returncode == 1
    assert "no-such-job" in result.stderr and "does not exist" in result.stderr


# A long-running job: a Serve application plus rayplane's metrics, until it is stopped. It undeploys on
# SIGTERM, which the job gets from `rayplane jobs stop` (with time to finish, see jobs.STOP_GRACE_S).
SERVING_JOB = textwrap.dedent("""
    import signal, sys, threading
    import ray
    from ray import serve
    from rayplane.metrics import observe_request, record_train_epoch

    ray.init()
    serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[1])})

    @serve.deployment(ray_actor_options={"num_cpus": 0.1})
    class Echo:
        def __call__(self, request):
            return "ok"

    serve.run(Echo.bind(), name="echo", route_prefix="/echo")
    record_train_epoch("tiny", "run-1", epoch=3, samples_per_s=1234.5, metrics={"val_auc": 0.75})
    observe_request("tiny", version=2, seconds=0.02, records=8)
    print("serving", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait(600)
    serve.delete("echo")
    print("undeployed", flush=True)
""")


@pytest.fixture(scope="module")
def serving_job(cluster, tmp_path_factory):
    from rayplane.cluster.jobs import STOP_GRACE_S

    workdir = tmp_path_factory.mktemp("serving")
    (workdir / "serving.py").write_text(SERVING_JOB)
    job_id = cluster.client().jobs.submit_job(
        entrypoint=f"{sys.executable} serving.py {free_port()}", submission_id="serving-1",
        runtime_env={"working_dir": str(workdir), "env_vars": {"RAY_JOB_STOP_WAIT_TIME_S": str(STOP_GRACE_S)}})
    yield job_id
    cluster.client().jobs.stop_job(job_id)


def test_status_lists_the_job_and_the_serve_app(cluster, serving_job):
    def app_running():
        result = cluster.cli("status", "--json", timeout=60)
        assert result.returncode == 0, result.stderr
        status = yaml.safe_load(result.stdout)
        apps = {a["name"]: a for a in status["serve"]}
        return status if apps.get("echo", {}).get("status") == "RUNNING" else None

    status = wait_for(app_running, timeout=180, what="the Serve app to run", interval=2)
    assert [j["job_id"] for j in status["jobs"]] == ["serving-1"]
    assert status["jobs"][0]["status"] == "RUNNING"
    assert status["serve"][0]["replicas"] == {"Echo": {"RUNNING": 1}}
    assert len([n for n in status["nodes"] if n["state"] == "ALIVE"]) == 1
    assert status["usage"]["CPU"][1] == 2.0

    text = cluster.cli("status", timeout=60).stdout
    assert "serving-1  RUNNING" in text
    assert re.search(r"echo\s+RUNNING\s+/echo\s+Echo: 1 RUNNING", text), text


def test_rayplane_metrics_reach_the_prometheus_endpoint(cluster, serving_job):
    url = f"http://127.0.0.1:{cluster.record.metrics_port}/metrics"

    def exported():
        text = requests.get(url, timeout=10).text
        return text if "ray_rayplane_train_samples_per_second" in text else None

    text = wait_for(exported, timeout=120, what="rayplane metrics on the export endpoint", interval=2)
    samples = re.search(r'^ray_rayplane_train_samples_per_second\{[^}]*workload="tiny"[^}]*\} (\S+)$', text, re.M)
    assert samples and float(samples.group(1)) == 1234.5
    assert re.search(r'^ray_rayplane_train_metric\{[^}]*metric="val_auc"[^}]*\} 0\.75$', text, re.M)
    count = re.search(r'^ray_rayplane_serve_request_latency_seconds_count\{[^}]*workload="tiny"[^}]*\} (\S+)$',
                      text, re.M)
    assert count and float(count.group(1)) == 1.0
    assert re.search(r'^ray_rayplane_serve_records_total\{[^}]*\} 8\.0$', text, re.M)


def test_stopping_the_job_ends_it_and_its_app(cluster, serving_job):
    stopped = cluster.cli("jobs", "stop", serving_job, "--wait")
    assert stopped.returncode == 0, stopped.stderr
    assert f"{serving_job}: STOPPED" in stopped.stdout
    status = cluster.cli("jobs", "status", serving_job)
    assert status.returncode == 1 and "STOPPED" in status.stderr
    assert "undeployed" in cluster.cli("jobs", "logs", serving_job).stdout

    def app_gone():
        return not cluster.client().get_json("/api/serve/applications/").get("applications")

    wait_for(app_gone, timeout=60, what="the Serve app to be deleted", interval=1)


def test_submit_refuses_what_the_job_could_not_use(cluster, workload, tmp_path):
    root = tmp_path / "w"
    shutil.copytree(workload.parent / "data", root / "data")
    jobs_before = len(cluster.client().jobs.list_jobs())
    spec = yaml.safe_load(workload.read_text())
    (root / "workload.yaml").write_text(yaml.safe_dump({**spec, "storage": {"root": "home"}}))
    relative = cluster.cli("submit", str(root / "workload.yaml"), "--command", "train")
    assert relative.returncode == 1 and "storage.root 'home' is relative" in relative.stderr

    (root / "workload.yaml").write_text(yaml.safe_dump(spec))
    excluded = cluster.cli("submit", str(root / "workload.yaml"), "--exclude", "data/")
    assert excluded.returncode == 1 and "data.path 'data' is left out of the upload" in excluded.stderr

    with open(root / "big.bin", "wb") as big:  # sparse: 101 MiB to the upload, nothing on disk
        big.truncate(101 * 2**20)
    too_big = cluster.cli("submit", str(root / "workload.yaml"))
    assert too_big.returncode == 1
    assert "would upload 101 MiB, over the 100 MiB limit (largest: big.bin 101 MiB" in too_big.stderr
    assert len(cluster.client().jobs.list_jobs()) == jobs_before  # none of them was submitted


def test_a_tiny_training_job_registers_its_model(cluster, workload, tmp_path):
    home = tmp_path / "home"
    result = cluster.cli("submit", str(workload), "--command", "train", "--follow", "--submission-id", "train-1",
                         "--env", f"RAYPLANE_HOME={home}", "--", "--run-name", "tiny-run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "job train-1 SUCCEEDED" in result.stdout
    version = home / "models" / "tiny" / "v1"
    assert (version / "model.pt").is_file() and (version / "preprocessor.json").is_file()
    assert (home / "runs" / "tiny-run").is_dir()

"""Ray jobs that run rayplane on a cluster: what is submitted, and how a client follows it to its outcome.

A job runs ``python -m rayplane.cli.main <command> <spec>`` on the head, in a working directory that Ray
uploads from the spec's directory, so the spec and its relative paths (data, model code) resolve the same
there. The dashboard takes uploads up to 100 MiB: larger data belongs on storage the cluster reads
(an absolute path on a shared volume, or a URI), or is left out (``--exclude``) for the spec's prepare step
to regenerate on the cluster.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rayplane.cluster.client import ClusterClient
from rayplane.errors import ClusterError
from rayplane.spec import WorkloadSpec, load_spec

COMMANDS = ("run", "train", "tune", "validate")
# Never worth uploading; .gitignore and .rayignore files in the directory are honoured on top (as Ray does).
DEFAULT_EXCLUDES = (".git", "__pycache__", "*.pyc", ".venv", ".ipynb_checkpoints", ".pytest_cache")
MAX_UPLOAD_MIB = 100  # the dashboard's limit on a request body (ray_constants.DASHBOARD_CLIENT_MAX_SIZE)
# How long `jobs stop` lets the driver wind down (a `run` job undeploys its endpoint) before SIGKILL; Ray's
# job supervisor reads it from the job's environment and defaults to 3 s.
STOP_GRACE_S = 30
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


@dataclass(frozen=True)
class Submission:
    """A job as data: what ``JobSubmissionClient.submit_job`` receives."""

    entrypoint: str
    runtime_env: dict[str, Any]
    metadata: dict[str, str]
    upload_bytes: int

    def submit(self, client: ClusterClient, submission_id: str | None = None) -> str:
        try:
            return client.jobs.submit_job(entrypoint=self.entrypoint, runtime_env=self.runtime_env,
                                          metadata=self.metadata, submission_id=submission_id)
        except (RuntimeError, ValueError) as exc:
            raise ClusterError(f"the cluster at {client.url} refused the job: {first_line(exc)}") from None


@dataclass
class UploadScan:
    """What Ray will upload from a working directory, by the same rules Ray applies."""

    total: int = 0
    by_entry: dict[str, int] = field(default_factory=dict)
    files: set[Path] = field(default_factory=set)


def scan_upload(workdir: Path, excludes: list[str]) -> UploadScan:
    # Ray's own traversal (private in Ray 2.60, pinned) so .gitignore/.rayignore and the patterns match exactly.
    from ray._private.runtime_env.packaging import _dir_travel, _get_excludes

    scan = UploadScan()

    def count(path: Path) -> None:
        if path.is_file():
            size = path.stat().st_size
            scan.total += size
            top = path.relative_to(workdir).parts[0]
            scan.by_entry[top] = scan.by_entry.get(top, 0) + size
            scan.files.add(path.resolve())

    include_gitignore = os.environ.get("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "0") != "1"
    _dir_travel(workdir, [_get_excludes(workdir, excludes)], count, include_gitignore=include_gitignore)
    return scan


def build_submission(spec_path: str | Path, command: str = "run", args: tuple[str, ...] = (), *,
                     python: str = "python", env: dict[str, str] | None = None, excludes: tuple[str, ...] = (),
                     max_upload_mib: float = MAX_UPLOAD_MIB) -> Submission:
    """The job for ``rayplane <command> <spec> <args>``; the spec is validated here, before anything is sent."""
    if command not in COMMANDS:
        raise ClusterError(f"--command {command!r}: expected one of {', '.join(COMMANDS)}")
    spec = load_spec(spec_path)
    workdir = spec.base_dir
    patterns = [*DEFAULT_EXCLUDES, *excludes]
    scan = scan_upload(workdir, patterns)
    limit = max_upload_mib * 1024 * 1024
    if scan.total > limit:
        biggest = sorted(scan.by_entry.items(), key=lambda kv: -kv[1])[:3]
        raise ClusterError(
            f"{workdir}: the job's working directory would upload {scan.total / 2**20:.0f} MiB, over the "
            f"{max_upload_mib:g} MiB limit (largest: {', '.join(f'{k} {v / 2**20:.0f} MiB' for k, v in biggest)}); "
            "leave data out with --exclude PATTERN or a .rayignore, and point data.path at storage the cluster "
            "reads (an absolute shared path or a URI)")
    _check_data_reachable(spec, workdir, scan)
    if command != "validate":
        _check_storage_outlives_job(spec)
    entrypoint = shlex.join([python, "-m", "rayplane.cli.main", command,
                             str(Path(spec_path).resolve().relative_to(workdir)), *args])
    runtime_env = {"working_dir": str(workdir), "excludes": patterns,
                   "env_vars": {"RAY_JOB_STOP_WAIT_TIME_S": str(STOP_GRACE_S), **(env or {})}}
    metadata = {"rayplane_workload": spec.name, "rayplane_command": command}
    return Submission(entrypoint=entrypoint, runtime_env=runtime_env, metadata=metadata, upload_bytes=scan.total)


def _check_data_reachable(spec: WorkloadSpec, workdir: Path, scan: UploadScan) -> None:
    """Data inside the working directory reaches the job only if uploaded, or if the job can prepare it."""
    data = Path(spec.data_path)
    if spec.data.prepare is not None or "://" in spec.data_path or not data.exists():
        return
    if not data.is_relative_to(workdir):
        return  # an absolute path: the job reads it where it is (same machine, or a shared volume)
    inside = [f for f in ([data] if data.is_file() else data.rglob("*")) if f.is_file()]
    if inside and not any(f.resolve() in scan.files for f in inside):
        raise ClusterError(f"data.path {spec.data.path!r} is left out of the upload (excludes, .gitignore or "
                           ".rayignore) and the spec has no data.prepare step to rebuild it: the job could not "
                           "read it; upload it, or use an absolute path or a URI the cluster can read")


def _check_storage_outlives_job(spec: WorkloadSpec) -> None:
    root = spec.storage.root
    if "://" not in root and not Path(root).expanduser().is_absolute():
        raise ClusterError(f"storage.root {root!r} is relative: in a job it resolves inside the job's temporary "
                           "working directory, and the runs and models would be lost with it; use an absolute "
                           "path or a URI (or the default, with --env RAYPLANE_HOME=...)")


def parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ClusterError(f"--env {pair!r}: expected KEY=VALUE")
        env[key] = value
    return env


# -- following a job ---------------------------------------------------------------------------------------------

def job_info(client: ClusterClient, job_id: str):
    try:
        return client.jobs.get_job_info(job_id)
    except RuntimeError as exc:
        raise ClusterError(f"job {job_id!r}: {first_line(exc)} (list jobs with `rayplane jobs list`)") from None


def wait(client: ClusterClient, job_id: str, timeout_s: float | None = None, poll_s: float = 1.0):
    """The job's details once it has finished."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        info = job_info(client, job_id)
        if str(info.status) in TERMINAL:
            return info
        if deadline is not None and time.monotonic() > deadline:
            raise ClusterError(f"job {job_id} still {info.status} after {timeout_s:g} s")
        time.sleep(poll_s)


def follow(client: ClusterClient, job_id: str, write: Callable[[str], None]):
    """Stream the job's logs to ``write`` until it ends; returns its final details."""
    jobs = client.jobs
    job_info(client, job_id)  # a clear error for an unknown id, before opening the log stream

    async def tail() -> None:
        async for chunk in jobs.tail_job_logs(job_id):
            write(chunk)

    try:
        asyncio.run(tail())
    except RuntimeError as exc:
        raise ClusterError(f"job {job_id}: the log stream broke: {first_line(exc)}") from None
    # The stream closes as the driver exits; the status turns terminal a moment later.
    return wait(client, job_id, timeout_s=60.0, poll_s=0.5)


def logs(client: ClusterClient, job_id: str) -> str:
    job_info(client, job_id)
    return client.jobs.get_job_logs(job_id)


def log_tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def check_outcome(client: ClusterClient, info, show_tail: Callable[[str], None] | None = None) -> None:
    """Raise ``ClusterError`` unless the job succeeded; ``show_tail`` gets the last log lines of a failed job."""
    status = str(info.status)
    if status == "SUCCEEDED":
        return
    if show_tail is not None:
        show_tail(log_tail(client.jobs.get_job_logs(info.submission_id)))
    code = f", exit code {info.driver_exit_code}" if info.driver_exit_code not in (None, 0) else ""
    raise ClusterError(f"job {info.submission_id} {status}{code}: {first_line(info.message or 'no message')}")


def stop(client: ClusterClient, job_id: str) -> bool:
    """Ask the job to stop; False when it had already finished."""
    job_info(client, job_id)
    try:
        return client.jobs.stop_job(job_id)
    except RuntimeError as exc:
        raise ClusterError(f"job {job_id}: cannot stop it: {first_line(exc)}") from None


def first_line(message: object) -> str:
    """One line of an error or job message; Ray appends "last available logs" and the logs, shown apart."""
    text = str(message or "").strip()
    if not text:
        return type(message).__name__ if isinstance(message, BaseException) else ""
    return text.splitlines()[0].split(", last available logs")[0].rstrip(":")

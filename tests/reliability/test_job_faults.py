"""A job stopped by the user leaves no process behind: its driver, what the driver started, its Ray actors.

tests/cluster covers a failing job (exit code and log tail) and a stop (status and the Serve app deleted);
here every process of the stopped job is checked by pid on the real `ray start` head.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests_helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# A driver like a training job's: a Ray actor doing the work and a child process of its own (a data
# preparation step, say), all alive until the job is stopped.
BUSY_JOB = textwrap.dedent("""
    import json, os, subprocess, sys, time
    import ray

    ray.init()

    @ray.remote(num_cpus=0.1)
    class Worker:
        def pid(self):
            return os.getpid()

    worker = Worker.remote()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # idle: a child to reap
    pids = {"driver": os.getpid(), "actor": ray.get(worker.pid.remote()), "child": child.pid}
    with open(sys.argv[1], "w") as out:
        json.dump(pids, out)
    time.sleep(600)  # idle: the job runs until the test stops it
""")


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks (with the pid, its identity), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else int(fields[19])


def test_a_stopped_job_leaves_no_process_behind(cluster, tmp_path):
    script = tmp_path / "job" / "busy.py"
    script.parent.mkdir()
    script.write_text(BUSY_JOB)
    pids_file = tmp_path / "pids.json"
    job_id = cluster.client().jobs.submit_job(
        entrypoint=f"{sys.executable} busy.py {pids_file}", submission_id="busy-1",
        runtime_env={"working_dir": str(script.parent)})
    wait_for(lambda: pids_file.is_file() and pids_file.stat().st_size, timeout=180, what="the job's processes",
             interval=0.5)
    pids = json.loads(pids_file.read_text())
    identity = {name: (pid, start_ticks(pid)) for name, pid in pids.items()}
    assert all(ticks is not None for _, ticks in identity.values()), identity

    started = time.monotonic()
    stopped = cluster.cli("jobs", "stop", job_id, "--wait")
    assert stopped.returncode == 0 and f"{job_id}: STOPPED" in stopped.stdout, stopped.stdout + stopped.stderr

    def survivors() -> list[str]:
        return [name for name, (pid, ticks) in identity.items() if start_ticks(pid) == ticks]

    # The driver is gone when the job reads STOPPED; Ray reaps the job's actors a moment later.
    wait_for(lambda: not survivors(), timeout=60, what="every process of the stopped job to end", interval=0.5)
    print(f"\njob stopped: driver, child and actor gone {time.monotonic() - started:.1f} s after `jobs stop`")

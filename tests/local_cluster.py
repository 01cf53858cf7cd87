"""A real `ray start` cluster, started and stopped with `rayplane cluster up|down`, shared by the tests that
need one (tests/cluster, tests/reliability); a pytest plugin registered in tests/conftest.py.

Every CLI call is a subprocess, so exit codes and output are exactly what a user sees; every cluster is
stopped by `rayplane cluster down`, and the tests check that none of its processes is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.cluster_helpers import RunningCluster, start_cluster, stop_cluster, write_workload


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> RunningCluster:
    """Head only, 2 CPUs: enough for job drivers, a Serve app and a tiny training run.

    Module-scoped: while a `ray start` cluster is up, Train V2's placement-group cleaner in another Ray instance
    on this host cannot tell which cluster is its own, so no such cluster may outlive the modules that use it.
    """
    running = start_cluster(tmp_path_factory.mktemp("cluster"), "--num-cpus", "2")
    yield running
    stop_cluster(running)


@pytest.fixture(scope="session")
def workload(tmp_path_factory) -> Path:
    return write_workload(tmp_path_factory.mktemp("workload"))

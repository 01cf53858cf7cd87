"""`rayplane cluster up|down|status`: a local multi-node Ray cluster; and the options every cluster client takes."""

from __future__ import annotations

import functools
import logging
import math
import time

import click

from rayplane.errors import ClusterError

state_dir_option = click.option(
    "--state-dir", envvar="RAYPLANE_CLUSTER_DIR", type=click.Path(file_okay=False),
    help="Where the local cluster keeps its state, token and logs [env RAYPLANE_CLUSTER_DIR; ~/.rayplane/cluster].")


def connection_options(command):
    """--address/--token-file/--state-dir, resolved into a ``ClusterClient`` passed as ``client``."""

    @click.option("--address", help="The head's dashboard, http://HOST:8265 [env RAY_API_SERVER_ADDRESS; default: "
                                    "the cluster `rayplane cluster up` started].")
    @click.option("--token-file", type=click.Path(dir_okay=False),
                  help="Ray auth token file [default: the local cluster's, else RAY_AUTH_TOKEN, "
                       "RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token].")
    @state_dir_option
    @functools.wraps(command)
    def wrapper(address, token_file, state_dir, **kwargs):
        import ray  # noqa: F401  (sets up Ray's loggers, which the next line quiets)

        from rayplane.cluster.client import ClusterClient, resolve

        # The Jobs SDK logs uploads and websocket closes at INFO; they would mix with the job's own output.
        logging.getLogger("ray").setLevel(logging.WARNING)
        return command(client=ClusterClient(resolve(address, token_file, state_dir)), **kwargs)

    return wrapper


@click.group()
def cluster() -> None:
    """Start, stop and inspect a local Ray cluster (head, dashboard, Jobs API, metrics, worker nodes)."""


@cluster.command()
@state_dir_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface the dashboard and Ray listen on; anything but loopback exposes the cluster.")
@click.option("--dashboard-port", type=int, default=8265, show_default=True, help="Dashboard and Jobs API port.")
@click.option("--port", type=int, help="GCS port [default: a free port].")
@click.option("--metrics-port", type=int, help="Prometheus metrics port of the head [default: a free port].")
@click.option("--num-cpus", type=int, help="CPUs of the head node [default: all of this machine's].")
@click.option("--object-store-mib", type=int, help="Object store of the head node [default: Ray's].")
@click.option("--workers", type=int, help="Worker nodes to start (a fixed pool; see --autoscale).")
@click.option("--autoscale", is_flag=True, help="Let Ray's autoscaler add worker nodes under demand and remove idle "
                                                "ones, between --min-workers and --max-workers.")
@click.option("--min-workers", type=int, help="Autoscaling: worker nodes always up [spec's num_workers.min; 0].")
@click.option("--max-workers", type=int, help="Autoscaling: most worker nodes [spec's num_workers.max; 2].")
@click.option("--worker-cpus", type=float, help="CPUs of each worker node [spec's cpus_per_worker; 1].")
@click.option("--idle-timeout-s", type=float, default=30.0, show_default=True,
              help="Autoscaling: seconds a worker node may sit idle before it is removed.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
              help="Size the worker nodes from this spec: one node per Train worker (num_workers, cpus_per_worker).")
@click.option("--timeout-s", type=float, default=180.0, show_default=True, help="How long to wait for health.")
def up(state_dir, host, dashboard_port, port, metrics_port, num_cpus, object_store_mib, workers, autoscale,
       min_workers, max_workers, worker_cpus, idle_timeout_s, spec_path, timeout_s) -> None:
    """Start a head node (dashboard, Jobs API, token auth, metrics) and optionally worker nodes."""
    from rayplane.cluster.local import ClusterOptions, LocalCluster

    pool = _worker_pool(workers, autoscale, min_workers, max_workers, worker_cpus, idle_timeout_s, spec_path)
    options = ClusterOptions(host=host, dashboard_port=dashboard_port, port=port, metrics_port=metrics_port,
                             num_cpus=num_cpus, object_store_mib=object_store_mib, workers=pool,
                             start_timeout_s=timeout_s)
    local = LocalCluster(state_dir)
    started = time.monotonic()
    record = local.up(options)
    nodes = f"head + {pool.min} worker node(s)"
    if record.autoscaling:
        nodes += (f", autoscaling to {pool.max} x {pool.cpus:g} CPU (idle nodes go after {pool.idle_timeout_s:g} s)")
    click.echo(f"cluster up in {time.monotonic() - started:.0f} s: {nodes}")
    _describe(local, record)


def _worker_pool(workers, autoscale, min_workers, max_workers, worker_cpus, idle_timeout_s, spec_path):
    from rayplane.cluster.state import WorkerPool

    if workers is not None and (autoscale or min_workers is not None or max_workers is not None):
        raise ClusterError("--workers starts a fixed pool; with --autoscale use --min-workers/--max-workers")
    if not autoscale and (min_workers is not None or max_workers is not None):
        raise ClusterError("--min-workers/--max-workers need --autoscale")
    spec_min, spec_max, spec_cpus = 0, 2, 1.0
    if spec_path is not None:
        from rayplane.spec import load_spec

        train = load_spec(spec_path).train
        spec_min, spec_max = train.num_workers.min, train.num_workers.max
        # Nodes have whole CPUs: round a fractional cpus_per_worker up.
        spec_cpus = 1.0 if train.cpus_per_worker == "auto" else float(math.ceil(train.cpus_per_worker))
    cpus = worker_cpus if worker_cpus is not None else spec_cpus
    if autoscale:
        low = min_workers if min_workers is not None else spec_min
        high = max_workers if max_workers is not None else max(spec_max, low)
        if high < 1:
            raise ClusterError(f"--autoscale needs --max-workers >= 1, got {high}")
        return WorkerPool(min=low, max=high, cpus=cpus, idle_timeout_s=idle_timeout_s)
    count = workers or 0
    return WorkerPool(min=count, max=count, cpus=cpus, idle_timeout_s=idle_timeout_s)


@cluster.command()
@state_dir_option
def down(state_dir) -> None:
    """Stop the processes `cluster up` started (only those; never other Ray clusters)."""
    from rayplane.cluster.local import LocalCluster

    local = LocalCluster(state_dir)
    stopped = local.down()
    if stopped is None:
        click.echo(f"no cluster was started from {local.state.root}")
    else:
        click.echo(f"cluster down: stopped {stopped} process(es); logs kept in {local.state.logs_dir}")


@cluster.command()
@state_dir_option
def status(state_dir) -> None:
    """Whether the local cluster is up, its addresses and nodes (exit 1 when it is not running)."""
    from rayplane.cluster.local import LocalCluster

    local = LocalCluster(state_dir)
    record = local.record()
    if record is None:
        raise ClusterError(f"no cluster running from {local.state.root}: start one with `rayplane cluster up`")
    if not local.processes(record):
        raise ClusterError(f"the cluster from {local.state.root} is not running any more (its processes are gone); "
                           "`rayplane cluster up` starts a new one")
    click.echo(f"cluster running since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(record.started_at))}")
    _describe(local, record)


@cluster.command()
@state_dir_option
def env(state_dir) -> None:
    """Shell exports for using the local cluster directly: eval "$(rayplane cluster env)".

    Then `rayplane train SPEC` (and any `ray.init()`, `ray status`, `ray job ...`) runs against the cluster.
    """
    import shlex

    from rayplane.cluster.local import LocalCluster

    local = LocalCluster(state_dir)
    record = local.record()
    if record is None:
        raise ClusterError(f"no cluster running from {local.state.root}: start one with `rayplane cluster up`")
    for key, value in local.client_env(record).items():
        click.echo(f"export {key}={shlex.quote(value)}")


def _describe(local, record) -> None:
    from rayplane.cluster.client import ClusterClient
    from rayplane.cluster.local import alive_nodes

    nodes = alive_nodes(ClusterClient(local.connection(record)))
    pool = record.workers
    rows = [
        ("dashboard", f"{record.dashboard_url}  (Ray dashboard and Jobs API; token auth on)"),
        ("token", str(local.state.token_file)),
        ("ray address", f"{record.gcs_address}  (for drivers: eval \"$(rayplane cluster env)\")"),
        ("metrics", f"http://{record.dashboard_url.split('://')[1].rsplit(':', 1)[0]}:{record.metrics_port}/metrics"
                    f"  (all nodes: {record.dashboard_url}/api/prometheus/sd)"),
        ("nodes", f"{len(nodes)} alive: head ({record.head_cpus:g} CPU) + {len(nodes) - 1} worker(s)"
                  + (f", autoscaling {pool.min}-{pool.max}" if record.autoscaling else "")),
        ("processes", f"{len(local.processes(record))} (`rayplane cluster down` stops them)"),
        ("logs", str(local.state.logs_dir)),
    ]
    for key, value in rows:
        click.echo(f"  {key:<12}{value}")

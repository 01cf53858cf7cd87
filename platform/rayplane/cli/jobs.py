import time

import click

from rayplane.cli.cluster import connection_options

job_id_argument = click.argument("job_id", metavar="JOB_ID")


@click.group()
def jobs() -> None:
    """List, inspect, follow and stop Ray jobs on a cluster."""


@jobs.command("list")
@connection_options
def list_jobs(client) -> None:
    """Every job the cluster knows, newest first."""
    from rich.console import Console
    from rich.table import Table

    from rayplane.cluster.jobs import first_line

    table = Table("job", "status", "workload", "started", "duration", "entrypoint / message")
    for info in sorted(client.jobs.list_jobs(), key=lambda j: j.start_time or 0, reverse=True):
        meta = info.metadata or {}
        workload = meta.get("rayplane_workload", "-")
        started = time.strftime("%H:%M:%S", time.localtime(info.start_time / 1000)) if info.start_time else "-"
        end = info.end_time or (time.time() * 1000 if info.start_time else None)
        duration = f"{(end - info.start_time) / 1000:.0f} s" if info.start_time and end else "-"
        detail = info.entrypoint if str(info.status) in ("RUNNING", "PENDING", "SUCCEEDED") else first_line(info.message)
        table.add_row(info.submission_id or info.job_id, str(info.status), workload, started, duration, detail or "")
    Console(width=200).print(table)


@jobs.command()
@job_id_argument
@click.option("--wait", is_flag=True, help="Wait until the job ends.")
@connection_options
def status(client, job_id, wait) -> None:
    """A job's status; exit 1 if it failed or was stopped (with its last log lines)."""
    from rayplane.cluster import jobs as cluster_jobs

    info = cluster_jobs.wait(client, job_id) if wait else cluster_jobs.job_info(client, job_id)
    click.echo(f"{job_id}: {info.status}" + (f" ({cluster_jobs.first_line(info.message)})" if info.message else ""))
    if info.status.is_terminal():
        cluster_jobs.check_outcome(client, info, lambda tail: click.echo(tail, err=True))


@jobs.command()
@job_id_argument
@click.option("--follow", "-f", is_flag=True, help="Keep streaming until the job ends; the exit code is its outcome.")
@connection_options
def logs(client, job_id, follow) -> None:
    """A job's driver logs."""
    from rayplane.cluster import jobs as cluster_jobs

    if follow:
        info = cluster_jobs.follow(client, job_id, lambda chunk: click.echo(chunk, nl=False))
        cluster_jobs.check_outcome(client, info)
    else:
        click.echo(cluster_jobs.logs(client, job_id), nl=False)


@jobs.command()
@job_id_argument
@click.option("--wait", is_flag=True, help="Wait until the job has stopped.")
@connection_options
def stop(client, job_id, wait) -> None:
    """Stop a running job (its driver gets SIGTERM, then SIGKILL)."""
    from rayplane.cluster import jobs as cluster_jobs

    if not cluster_jobs.stop(client, job_id):
        info = cluster_jobs.job_info(client, job_id)
        click.echo(f"{job_id} had already finished: {info.status}")
        return
    if wait:
        info = cluster_jobs.wait(client, job_id, timeout_s=120.0)
        click.echo(f"{job_id}: {info.status}")
    else:
        click.echo(f"{job_id}: stop requested")

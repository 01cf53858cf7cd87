import click

from rayplane.cli.cluster import connection_options
from rayplane.cluster.jobs import COMMANDS


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--command", type=click.Choice(COMMANDS), default="run", show_default=True,
              help="What the job runs on the spec (`run` keeps serving until the job is stopped).")
@click.option("--follow", is_flag=True, help="Stream the job's logs until it ends; the exit code is its outcome.")
@click.option("--wait", is_flag=True, help="Wait for the job to end; the exit code is its outcome, a failure "
                                           "prints its last log lines.")
@click.option("--env", multiple=True, metavar="KEY=VALUE", help="Environment variable for the job (repeatable).")
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Leave files out of the uploaded working directory, gitignore-style (repeatable).")
@click.option("--python", help="Interpreter on the cluster [the local cluster's; else `python`].")
@click.option("--submission-id", help="Job id to use [default: Ray picks one].")
@connection_options
def submit(client, spec_path, args, command, follow, wait, env, exclude, python, submission_id) -> None:
    """Run `rayplane <command> SPEC [-- ARGS]` as a Ray job on a cluster.

    The spec's directory is the job's working directory; the spec is validated before anything is sent.
    """
    from rayplane.cluster import jobs

    submission = jobs.build_submission(spec_path, command, args, python=python or client.connection.local_python
                                       or "python", env=jobs.parse_env(env), excludes=exclude)
    job_id = submission.submit(client, submission_id)
    click.echo(f"submitted {job_id} to {client.url}: {submission.entrypoint} "
               f"({submission.upload_bytes / 1024:.0f} KiB uploaded)")
    if not (follow or wait):
        click.echo(f"follow it: rayplane jobs logs {job_id} --follow   stop it: rayplane jobs stop {job_id}")
        return
    if follow:
        info = jobs.follow(client, job_id, lambda chunk: click.echo(chunk, nl=False))
        jobs.check_outcome(client, info)
    else:
        jobs.check_outcome(client, jobs.wait(client, job_id), lambda tail: click.echo(tail, err=True))
    click.echo(f"job {job_id} SUCCEEDED")

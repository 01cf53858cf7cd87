import json

import click

from rayplane.cli.cluster import connection_options


@click.command()
@click.option("--all-jobs", is_flag=True, help="List finished jobs too.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@connection_options
def status(client, all_jobs, as_json) -> None:
    """Nodes, used/total resources, running jobs and Serve applications of a cluster, from its own APIs."""
    from rayplane.cluster.status import collect, render

    current = collect(client, all_jobs=all_jobs)
    if as_json:
        click.echo(json.dumps(current.to_dict(), indent=2))
    else:
        click.echo("\n".join(render(current)))

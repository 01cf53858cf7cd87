import click

from rayplane.cli.options import spec_argument
from rayplane.modeling.quantize import VARIANTS
from rayplane.pipeline import connect_for, serving_version
from rayplane.registry import CHAMPION
from rayplane.spec import WorkloadSpec, override


@click.command()
@spec_argument
@click.option("--version", "number", type=click.IntRange(min=1),
              help=f"Version to serve (default: the {CHAMPION}, followed as it moves; the latest when there is none).")
@click.option("--variant", type=click.Choice(VARIANTS), help="Serve this compressed variant of --version "
              "(made by `rayplane models quantize`).")
@click.option("--port", type=click.IntRange(1, 65535), help="Override serve.port.")
@click.option("--host", help="Override serve.host (0.0.0.0 listens on every interface).")
@click.option("--address", help="Ray cluster address (default: an embedded local Ray).")
def serve(spec: WorkloadSpec, number: int | None, variant: str | None, port: int | None, host: str | None, address: str | None) -> None:
    """Serve a registered model version over HTTP until Ctrl-C."""
    changes = {k: v for k, v in {"serve.port": port, "serve.host": host}.items() if v is not None}
    if changes:
        spec = override(spec, changes)
    # The registry is read before Ray starts, so a missing version fails in a moment.
    version, why = serving_version(spec, number, variant)

    from rayplane.serve import AliasFollower, deploy, serve_forever

    runtime = connect_for(spec, address)
    click.echo(f"deploying {version.uri} ({why}) from {version.location.display} ...", err=True)
    endpoint = deploy(spec, version)
    click.echo(f"endpoint   {endpoint.predict_url}")
    click.echo(f"docs       {endpoint.docs_url}")
    click.echo(f"dashboard  {runtime.dashboard_url or 'not running'}")
    click.echo(f"try it     {endpoint.curl_example()}")
    follower = None
    if number is None:
        follower = AliasFollower(spec, endpoint).start()
        click.echo(f"following  {CHAMPION!r}: a promotion or rollback rolls the replicas over", err=True)
    click.echo("serving until Ctrl-C", err=True)
    serve_forever(endpoint, follower)
    click.echo(f"stopped; {endpoint.app!r} undeployed", err=True)

import click

from rayplane.cli.options import load_with_overrides, parse_settings, set_option
from rayplane.spec import spec_hash


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
@set_option
@click.option("--offline", is_flag=True, help="Check the spec only: do not touch storage.root or data.path.")
@click.option("--address", help="Also check the spec against this Ray cluster (a local storage.root on many nodes).")
def validate(spec_path: str, settings: tuple[str, ...], offline: bool, address: str | None) -> None:
    """Check a workload spec, and that its storage and data can be reached, without running anything."""
    spec = load_with_overrides(spec_path, parse_settings(settings))
    metric, mode = spec.metric
    click.echo(
        f"{spec_path}: valid workload {spec.name!r} (hash {spec_hash(spec)}): task {spec.data.task}, "
        f"{len(spec.data.features.all)} features, data {spec.data_path}, "
        f"workers {spec.train.num_workers.min}-{spec.train.num_workers.max}, "
        f"{spec.tune.num_samples} trial(s) optimising {metric} ({mode})"
    )
    if offline:
        return
    from rayplane.pipeline import connect_for, preflight

    for line in preflight(spec, prepare=False):
        click.echo(f"  ok  {line}")
    if address:
        runtime = connect_for(spec, address)
        click.echo(f"  ok  Ray cluster at {runtime.address}: {runtime.nodes} node(s) may use storage.root")

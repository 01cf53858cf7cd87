import click

from rayplane.spec import load_spec, spec_hash


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
def validate(spec: str) -> None:
    """Check a workload spec without running anything."""
    loaded = load_spec(spec)
    metric, mode = loaded.metric
    click.echo(
        f"{spec}: valid workload {loaded.name!r} (hash {spec_hash(loaded)}): task {loaded.data.task}, "
        f"{len(loaded.data.features.all)} features, data {loaded.data_path}, "
        f"workers {loaded.train.num_workers.min}-{loaded.train.num_workers.max}, "
        f"{loaded.tune.num_samples} trial(s) optimising {metric} ({mode})"
    )

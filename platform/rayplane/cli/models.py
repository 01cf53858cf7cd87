import json

import click
from rich.console import Console
from rich.table import Table

from rayplane.pipeline import registry_for
from rayplane.spec import load_spec


@click.group()
def models() -> None:
    """List and inspect registered model versions."""


@models.command("list")
@click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
def list_versions(spec_path: str) -> None:
    """Versions registered for the spec's workload."""
    spec = load_spec(spec_path)
    metric, _ = spec.metric
    table = Table("version", "created", metric, "run", "path")
    for version in registry_for(spec).list(spec.name):
        value = version.metrics.get(metric)
        table.add_row(version.uri, version.metadata.get("created_at", ""),
                      f"{value:.4f}" if isinstance(value, float) else "-",
                      version.metadata.get("run_name", ""), str(version.path))
    Console().print(table)


@models.command("show")
@click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
@click.option("--version", "number", type=int, help="Version number (default: latest).")
def show(spec_path: str, number: int | None) -> None:
    """Metadata of one version as JSON (metrics, params, schema, spec hash, data)."""
    spec = load_spec(spec_path)
    version = registry_for(spec).get(spec.name, number)
    click.echo(json.dumps({"path": str(version.path), **version.metadata}, indent=2, sort_keys=True))

import json

import click
from rich.console import Console
from rich.table import Table

from rayplane.pipeline import registry_for
from rayplane.registry.lineage import lineage
from rayplane.cli.options import spec_argument
from rayplane.spec import WorkloadSpec


@click.group()
def models() -> None:
    """List and inspect registered model versions."""


@models.command("list")
@spec_argument
def list_versions(spec: WorkloadSpec) -> None:
    """Versions registered for the spec's workload."""
    metric, _ = spec.metric
    table = Table("version", "created", metric, "run", "location")
    for version in registry_for(spec).list(spec.name):
        value = version.metrics.get(metric)
        table.add_row(version.uri, version.metadata.get("created_at", ""),
                      f"{value:.4f}" if isinstance(value, float) else "-",
                      version.metadata.get("run_name", ""), version.location.display)
    Console().print(table)


@models.command("show")
@spec_argument
@click.option("--version", "number", type=int, help="Version number (default: latest).")
def show(spec: WorkloadSpec, number: int | None) -> None:
    """Metadata of one version as JSON (metrics, params, schema, spec hash, data)."""
    registry = registry_for(spec)
    version = registry.get(spec.name, number)
    click.echo(json.dumps({"location": version.location.display, **version.metadata,
                           "lineage": " <- ".join(lineage(registry, version))}, indent=2, sort_keys=True))

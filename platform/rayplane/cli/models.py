import json
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from rayplane.cli.aliases import promote, rollback
from rayplane.cli.options import spec_argument
from rayplane.cli.quantize import quantize
from rayplane.errors import RegistryError
from rayplane.pipeline import registry_for
from rayplane.registry.lineage import lineage
from rayplane.spec import WorkloadSpec


@click.group()
def models() -> None:
    """List and inspect registered model versions, and move their aliases."""


models.add_command(promote)
models.add_command(rollback)
models.add_command(quantize)


def by_version(aliases: dict[str, int]) -> dict[int, list[str]]:
    held: dict[int, list[str]] = {}
    for alias, number in sorted(aliases.items()):
        held.setdefault(number, []).append(alias)
    return held


@models.command("list")
@spec_argument
def list_versions(spec: WorkloadSpec) -> None:
    """Versions registered for the spec's workload, their aliases, and the aliases' history."""
    registry = registry_for(spec)
    metric, _ = spec.metric
    aliases = registry.aliases(spec.name)
    held = by_version(aliases)
    table = Table("version", "aliases", "created", metric, "run", "location")
    for version in registry.list(spec.name):
        value = version.metrics.get(metric)
        variant = version.metadata.get("variant")
        label = version.uri + (f" ({variant['kind']} of v{variant['parent']})" if variant else "")
        table.add_row(label, ", ".join(held.get(version.version, [])), version.metadata.get("created_at", ""),
                      f"{value:.4f}" if isinstance(value, float) else "-",
                      version.metadata.get("run_name", ""), version.location.display)
    console = Console()
    console.print(table)
    for alias in sorted(aliases):
        console.print(f"[bold]{alias}[/] history:")
        for event in registry.alias_log(spec.name, alias).events():
            console.print(f"  {event.describe()}", soft_wrap=True, markup=False)


@models.command("show")
@spec_argument
@click.option("--version", "number", type=int, help="Version number (default: latest).")
@click.option("--alias", help="Show the version an alias points at instead (e.g. champion).")
def show(spec: WorkloadSpec, number: int | None, alias: str | None) -> None:
    """Metadata of one version as JSON (metrics, params, schema, spec hash, data), its aliases and their history."""
    registry = registry_for(spec)
    if alias is not None:
        if number is not None:
            raise RegistryError("models show: give --version or --alias, not both")
        event = registry.alias_log(spec.name, alias).current()
        if event is None:
            raise RegistryError(f"--alias {alias!r}: the alias does not point at any version of {spec.name!r}")
        number = event.version
    version = registry.get(spec.name, number)
    aliases = registry.aliases(spec.name)
    history = [asdict(event) for name in sorted(aliases) for event in registry.alias_log(spec.name, name).events()
               if version.version in (event.version, event.previous)]
    click.echo(json.dumps({"location": version.location.display, **version.metadata,
                           "lineage": " <- ".join(lineage(registry, version)),
                           "aliases": by_version(aliases).get(version.version, []), "alias_history": history},
                          indent=2, sort_keys=True))

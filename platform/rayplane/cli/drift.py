import json

import click
from rich.console import Console
from rich.table import Table

from rayplane.cli.options import spec_argument
from rayplane.monitoring import drift as measure
from rayplane.spec import WorkloadSpec

DRIFT_EXIT_CODE = 3


@click.command()
@spec_argument
@click.option("--version", "number", type=click.IntRange(min=1), help="Version to compare with (default: the latest).")
@click.option("--data", "data_uri", required=True, help="The data to check: a file, a directory, a glob or a URI.")
@click.option("--format", "input_format", help="Input format: parquet, csv, jsonl (default: from the extensions).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--address", help="Ray cluster address (default: an embedded local Ray).")
@click.pass_context
def drift(ctx: click.Context, spec: WorkloadSpec, number: int | None, data_uri: str, input_format: str | None,
          as_json: bool, address: str | None) -> None:
    """Per-feature drift (PSI, null rates, unseen categories) of a dataset against a version's training data.

    Exit code 3 when a feature's PSI is above monitoring.drift_threshold.
    """
    version, report = measure(spec, data=data_uri, version=number, format=input_format, address=address)
    if as_json:
        click.echo(json.dumps({"model": version.name, "version": version.version, "data": data_uri,
                               **report.to_dict()}, indent=2))
    else:
        click.echo(f"{version.uri} vs {data_uri}: {report.rows:,} rows, PSI threshold {report.threshold:g}")
        table = Table("feature", "kind", "PSI", "null rate (train -> now)", "unseen (train -> now)", "unseen values",
                      "drift")
        for f in report.features:
            unseen = "-" if f["unseen"] is None else f"{f['unseen_train']:.1%} -> {f['unseen']:.1%}"
            table.add_row(f["feature"], f["kind"], f"{f['psi']:.3f}",
                          f"{f['null_rate_train']:.1%} -> {f['null_rate']:.1%}", unseen,
                          ", ".join(f["unseen_values"]) or "-", "DRIFT" if f["drifted"] else "ok")
        Console(width=160).print(table)
    if report.drifted:
        click.echo(f"drift in {len(report.drifted)} feature(s): {', '.join(report.drifted)}", err=True)
        ctx.exit(DRIFT_EXIT_CODE)

import click

from rayplane.batch import predict as score
from rayplane.cli.options import spec_argument
from rayplane.data.formats import FORMATS
from rayplane.spec import WorkloadSpec


@click.command()
@spec_argument
@click.option("--version", "number", type=click.IntRange(min=1), help="Version to score with (default: the latest).")
@click.option("--input", "input_uri", required=True, help="Input files: a file, a directory, a glob or a URI.")
@click.option("--output", "output_uri", required=True, help="An empty or new directory or URI for the Parquet shards.")
@click.option("--keep", multiple=True, metavar="COLUMN", help="An input column to copy next to the predictions "
              "(an id, for example; repeatable).")
@click.option("--format", "input_format", help=f"Input format: {', '.join(FORMATS)} (default: from the files' "
              "extensions).")
@click.option("--address", help="Ray cluster address (default: an embedded local Ray).")
def predict(spec: WorkloadSpec, number: int | None, input_uri: str, output_uri: str, keep: tuple[str, ...],
            input_format: str | None, address: str | None) -> None:
    """Score files with a registered version on Ray Data; writes Parquet shards and _SUCCESS under --output."""
    result = score(spec, version=number, input=input_uri, output=output_uri, keep=keep, format=input_format,
                   address=address)
    click.echo(f"scored {result.rows:,} rows from {len(result.input.files)} {result.input.format} file(s) with "
               f"{result.version.uri} in {result.seconds:.1f} s")
    click.echo(f"output  {result.output.display} ({len(result.files)} Parquet file(s), _SUCCESS)")

"""``rayplane models quantize``: register a compressed variant of a version."""

import click

from rayplane.cli.options import spec_argument
from rayplane.modeling.quantize import VARIANTS
from rayplane.spec import WorkloadSpec


@click.command()
@spec_argument
@click.argument("number", metavar="N", type=click.IntRange(min=1))
@click.option("--variant", "kind", type=click.Choice(VARIANTS), default="int8", show_default=True,
              help="int8: dynamic quantization of the Linear layers (PyTorch's built-in).")
def quantize(spec: WorkloadSpec, number: int, kind: str) -> None:
    """Register a compressed variant of version N, with its size, metric and latency beside the full model's."""
    from rayplane.variants import quantize_version

    version = quantize_version(spec, number, kind)
    v = version.metadata["variant"]
    mine, full = v["latency_ms"]["variant"], v["latency_ms"]["parent"]
    click.echo(f"registered {version.uri}: the {kind} variant of {spec.name}:v{number} at {version.location.display}")
    click.echo(f"size       {v['size_bytes']:,} bytes (full model {v['parent_size_bytes']:,})")
    click.echo(f"{v['metric']:<10} {v['value']:.4f} (full model {v['parent_value']:.4f}) on {v['holdout']}, "
               f"{v['holdout_rows']:,} rows")
    click.echo(f"latency    one record {mine['single_record']:.3f} ms (full {full['single_record']:.3f}), "
               f"{mine['batch_records']} records {mine['batch']:.3f} ms (full {full['batch']:.3f}), this machine")
    click.echo(f"serve it   rayplane serve SPEC --version {number} --variant {kind}")

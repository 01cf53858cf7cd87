import click

from rayplane import pipeline
from rayplane.cli.options import training_options
from rayplane.cli.summary import print_summary


@click.command()
@training_options
def tune(spec, address, run_name) -> None:
    """Search the spec's space (Optuna TPE + ASHA); registers the best trial's model."""
    print_summary(pipeline.tune(spec, address=address, run_name=run_name))

import click

from rayplane import pipeline
from rayplane.cli.options import training_options
from rayplane.cli.summary import print_summary


@click.command()
@training_options
def train(spec, address, run_name) -> None:
    """One training run with the spec's hyperparameters; registers the model."""
    print_summary(pipeline.train(spec, address=address, run_name=run_name))

import click

from rayplane import pipeline
from rayplane.cli.options import training_options
from rayplane.cli.summary import print_summary


@click.command()
@training_options
@click.option("--from", "warm_start", type=click.IntRange(min=1), metavar="N",
              help="Warm start: begin from version N's weights and keep its preprocessing.")
@click.option("--data", help="Train on this data instead of the spec's data.path (a path or URI).")
@click.option("--refit-preprocessing", is_flag=True, help="With --from: refit the preprocessing on the new data "
              "and print what changed.")
def train(spec, address, run_name, warm_start, data, refit_preprocessing) -> None:
    """One training run with the spec's hyperparameters; registers the model."""
    print_summary(pipeline.train(spec, address=address, run_name=run_name, warm_start=warm_start, data=data,
                                 refit_preprocessing=refit_preprocessing))

import click

from rayplane import pipeline
from rayplane.cli.options import training_options
from rayplane.cli.summary import print_summary


@click.command()
@training_options
@click.option("--no-serve", is_flag=True, help="Stop after registering (and promoting) the model.")
def run(spec, address, run_name, no_serve) -> None:
    """Prepare data, tune or train, register the best model, promote it through the gate and serve the champion
    (following it as it moves) until Ctrl-C."""
    result = pipeline.run(spec, address=address, run_name=run_name, serve=not no_serve)
    print_summary(result)
    if result.endpoint is not None:
        from rayplane.serve import AliasFollower, serve_forever

        serve_forever(result.endpoint, AliasFollower(spec, result.endpoint).start())

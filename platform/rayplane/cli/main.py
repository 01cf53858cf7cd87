"""The ``rayplane`` command: a thin layer over the Python API.

Domain errors (``RayplaneError``) print as one line and exit 1; ``--debug`` shows the traceback.
Each command lives in its own module under ``rayplane.cli`` and is registered in ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import sys

import click

from rayplane.errors import RayplaneError

# module name under rayplane.cli -> attribute holding the click command
COMMANDS = {
    "run": "run",
    "validate": "validate",
    "train": "train",
    "tune": "tune",
    "serve": "serve",
    "models": "models",
    "cluster": "cluster",
    "submit": "submit",
    "jobs": "jobs",
    "status": "status",
    "k8s": "k8s",
    "predict": "predict",
    "drift": "drift",
}


class LazyGroup(click.Group):
    """Imports a command's module only when it runs, so `rayplane validate` does not pay for importing Ray."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"rayplane.cli.{name.replace('-', '_')}")
        return getattr(module, COMMANDS[name])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """rayplane: one workload spec from sharded Parquet to a served model, on Ray."""
    ctx.obj = {"debug": debug}


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # A command that ends with ctx.exit(code) (drift found: 3) returns that code here.
        code = cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except RayplaneError as exc:
        if debug:
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())

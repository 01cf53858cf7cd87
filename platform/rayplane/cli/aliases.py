"""``rayplane models promote|rollback``: move a model's aliases (the champion through the spec's gate)."""

import click

from rayplane import promotion
from rayplane.cli.options import spec_argument
from rayplane.registry import CHAMPION
from rayplane.spec import WorkloadSpec

alias_option = click.option("--alias", default=CHAMPION, show_default=True, help="The alias to move.")
reason_option = click.option("--reason", default="", help="Why, for the promotion history.")


@click.command()
@spec_argument
@click.argument("number", metavar="N", type=click.IntRange(min=1))
@alias_option
@click.option("--force", is_flag=True, help="Promote even when the gate refuses (recorded in the history).")
@reason_option
def promote(spec: WorkloadSpec, number: int, alias: str, force: bool, reason: str) -> None:
    """Point an alias at version N; replacing a champion passes the spec's promotion gate first."""
    done = promotion.promote(spec, number, alias=alias, force=force, reason=reason)
    if done.decision:
        click.echo(f"gate       {done.decision.describe()}: "
                   f"{'passed' if done.decision.passed else 'REFUSED, overridden by --force'}")
    click.echo(f"promoted   {spec.name}:v{number} to {alias!r} ({done.event.describe()})")


@click.command()
@spec_argument
@alias_option
@reason_option
def rollback(spec: WorkloadSpec, alias: str, reason: str) -> None:
    """Point an alias back at the version it held before its current one."""
    event = promotion.rollback(spec, alias=alias, reason=reason)
    click.echo(f"rolled back {alias!r} from v{event.previous} to {spec.name}:v{event.version} ({event.describe()})")

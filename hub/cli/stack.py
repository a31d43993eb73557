"""`mash up`, `mash down`, `mash status`: run the whole MASH on this machine."""

from __future__ import annotations

import click

from hub.broker import LocalBroker
from hub.cli.common import friendly_errors
from hub.paths import mash_home
from hub.stack import down as stack_down
from hub.stack import prepare, probe, running
from hub.stack import up as stack_up


@click.command()
@click.option(
    "--people",
    type=int,
    default=2000,
    show_default=True,
    help="Synthetic population size if sources do not exist yet.",
)
@friendly_errors
def up(people: int) -> None:
    """Start the broker, provision, create keys and sources, and run every service in the
    background (logs in MASH_HOME/run/)."""
    prepare(mash_home(), people)
    for s in stack_up(mash_home()):
        click.echo(
            f"{s.name:18} pid {s.pid:7}  health http://127.0.0.1:{s.port}/healthz  log {s.log}"
        )


@click.command()
@click.option("--broker/--no-broker", default=True, show_default=True, help="Also stop the broker.")
def down(broker: bool) -> None:
    """Stop every service (SIGTERM, bounded) and, by default, the broker."""
    for name in stack_down(mash_home()):
        click.echo(f"stopped {name}")
    if broker and LocalBroker(mash_home()).stop():
        click.echo("stopped broker")


@click.command()
def status() -> None:
    """Health and readiness of the broker and each service (exit 1 if any is not ready)."""
    st = LocalBroker(mash_home()).status()
    healthy = st.ready
    click.echo(f"{'broker':18} {'ready' if st.ready else 'NOT READY':10} {st.bootstrap or '-'}")
    for s in running(mash_home()):
        ready, detail = probe(s.port)
        live, _ = probe(s.port, "/healthz")
        healthy = healthy and ready
        click.echo(
            f"{s.name:18} {'ready' if ready else 'NOT READY':10} "
            f"live={'yes' if live else 'no'} pid {s.pid} :{s.port} {detail}"
        )
    if not healthy:
        raise SystemExit(1)

"""`mash demo`: from nothing to a running, secured MASH Exchange on embedded defaults."""

from __future__ import annotations

import time

import click

from hub.broker import BrokerError, LocalBroker
from hub.keys.local import local_key_store
from hub.local import local_settings, principal_password
from hub.paths import mash_home
from hub.provision import ClusterAdmin, provision
from hub.topology import Topology


@click.command()
@click.option("--keep-running", is_flag=True, help="Leave the broker running afterwards.")
def demo(keep_running: bool) -> None:
    """Start the local broker, provision principals, topics, ACLs and keys; report what runs."""
    began = time.monotonic()
    broker = LocalBroker(mash_home())
    try:
        status = broker.start()
        click.echo(f"[broker] ready at {status.bootstrap}, RSS {status.rss_mib or 0:.0f} MiB")
        topology = Topology.load()
        change = provision(topology, ClusterAdmin(local_settings("admin")), principal_password)
        click.echo(
            f"[provision] {len(change.describe())} changes; "
            f"{len(topology.topics)} topics, {len(topology.service_principals())} "
            f"principals, {len(topology.acls())} ACLs in force"
        )
        created = local_key_store().init(topology.service_principals())
        click.echo(
            f"[keys] {len(created)} keys created; signed directory in "
            f"{local_key_store().directory_file}"
        )
        for topic in topology.topics:
            click.echo(
                f"  {topic.name:28} write: {', '.join(topic.producers) or '-':34} "
                f"read: {', '.join(topic.consumers)}"
            )
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if not keep_running:
            broker.stop()
            click.echo("[broker] stopped")
    click.echo(f"demo finished in {time.monotonic() - began:.1f}s")

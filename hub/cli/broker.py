"""`mash broker ...`: fetch, start, stop, inspect and reset the project's own Kafka broker."""

from __future__ import annotations

import time

import click

from hub.broker import KAFKA_VERSION, BrokerError, LocalBroker, fetch_kafka
from hub.broker.process import new_cluster_id
from hub.paths import mash_home


def _fail(exc: BrokerError) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group()
def broker() -> None:
    """Run the real Apache Kafka broker (KRaft, SASL/SCRAM, ACLs) on this machine."""


@broker.command()
@click.option(
    "--version",
    "version",
    default=KAFKA_VERSION,
    show_default=True,
    help="Apache Kafka version to fetch from Maven Central.",
)
def fetch(version: str) -> None:
    """Fetch the broker jars into the cache (idempotent; no network once cached)."""
    try:
        lib = fetch_kafka(version)
    except BrokerError as exc:
        _fail(exc)
    click.echo(f"Kafka {version}: {len(list(lib.glob('*.jar')))} jars in {lib}")


@broker.command()
@click.option(
    "--port",
    type=int,
    default=None,
    help="Client (SASL/SCRAM) port; 0 picks a free one. Default 19092, or as before.",
)
@click.option(
    "--controller-port",
    type=int,
    default=None,
    help="KRaft controller port; 0 picks a free one. Default 19093, or as before.",
)
@click.option(
    "--timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to wait for the broker to answer an authenticated admin request.",
)
def start(port: int | None, controller_port: int | None, timeout: float) -> None:
    """Format storage once and start a single-node secured broker on 127.0.0.1."""
    began = time.monotonic()
    try:
        status = LocalBroker(mash_home(), port, controller_port).start(timeout)
    except BrokerError as exc:
        _fail(exc)
    click.echo(
        f"broker ready at {status.bootstrap} (pid {status.pid}) in "
        f"{time.monotonic() - began:.1f}s; admin password in "
        f"{mash_home() / 'secrets' / 'kafka-admin.secret'}"
    )


@broker.command()
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait after SIGTERM before SIGKILL.",
)
def stop(timeout: float) -> None:
    """Stop the broker (SIGTERM, then SIGKILL after the timeout)."""
    was_running = LocalBroker(mash_home()).stop(timeout)
    click.echo("broker stopped" if was_running else "broker was not running")


@broker.command()
def status() -> None:
    """Say whether the broker runs and answers, with its endpoint, topics and memory."""
    st = LocalBroker(mash_home()).status()
    if not st.running:
        click.echo("broker: not running")
        raise SystemExit(3)
    state = "ready" if st.ready else "NOT answering"
    click.echo(
        f"broker: running, {state}; pid {st.pid}; {st.bootstrap}; "
        f"{st.topics} topics; RSS {st.rss_mib or 0:.0f} MiB"
    )
    if not st.ready:
        raise SystemExit(1)


@broker.command("cluster-id")
def cluster_id() -> None:
    """Print a new random KRaft cluster id (for docker-compose's KAFKA_CLUSTER_ID)."""
    click.echo(new_cluster_id())


@broker.command()
@click.confirmation_option(prompt="Delete all topics, users and ACLs of the local broker?")
def reset() -> None:
    """Stop the broker and delete its data (secrets are kept)."""
    LocalBroker(mash_home()).reset()
    click.echo("broker data deleted")

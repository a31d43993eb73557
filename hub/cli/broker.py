"""`mash broker ...`: fetch, start, stop, inspect and reset the project's own Kafka broker."""

from __future__ import annotations

import time
from pathlib import Path

import click

from hub.broker import KAFKA_VERSION, BrokerError, LocalBroker, fetch_kafka
from hub.broker.process import new_cluster_id
from hub.broker.tls import ensure_broker_tls
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
    "--tls-port",
    type=int,
    default=None,
    help="SASL/SCRAM over TLS port; 0 picks a free one. Default 19094, or as before.",
)
@click.option(
    "--timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to wait for the broker to answer an authenticated admin request.",
)
def start(
    port: int | None, controller_port: int | None, tls_port: int | None, timeout: float
) -> None:
    """Format storage once and start a single-node secured broker on 127.0.0.1: SASL/SCRAM
    on the client port, and SASL/SCRAM over TLS (its own certificate authority) on the TLS
    port."""
    began = time.monotonic()
    local = LocalBroker(mash_home(), port, controller_port, tls_port=tls_port)
    try:
        status = local.start(timeout)
    except BrokerError as exc:
        _fail(exc)
    click.echo(
        f"broker ready at {status.bootstrap} (pid {status.pid}) in "
        f"{time.monotonic() - began:.1f}s; admin password in "
        f"{mash_home() / 'secrets' / 'kafka-admin.secret'}"
    )
    click.echo(f"TLS (SASL_SSL) at {status.tls_bootstrap}; clients trust {local.tls.ca_file}")


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
    if st.tls_bootstrap is not None:
        ca = LocalBroker(mash_home()).tls.ca_file
        click.echo(f"TLS (SASL_SSL): {st.tls_bootstrap}; certificate authority {ca}")
    if not st.ready:
        raise SystemExit(1)


@broker.command("tls")
@click.option(
    "--host",
    required=True,
    help="The broker's host name (or IP) that clients connect to, e.g. kafka in compose.",
)
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for ca.pem (give to clients), broker.pem and ca-key.pem (keep private).",
)
def tls(host: str, folder: Path) -> None:
    """Make (or renew within 30 days of lapsing) a certificate authority and the broker's TLS
    certificate for HOST, for a broker this command does not run (docker-compose.yml)."""
    files = ensure_broker_tls(folder, host)
    cert = files.server_certificate()
    assert cert is not None
    click.echo(
        f"broker keystore {files.keystore} (for {host}, valid until "
        f"{cert.not_valid_after_utc:%Y-%m-%d}); clients trust {files.ca_file}"
    )


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

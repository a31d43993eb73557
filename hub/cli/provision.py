"""`mash provision`: make the cluster match the topology file (users, topics, ACLs)."""

from __future__ import annotations

from pathlib import Path

import click

from hub.broker import BrokerError
from hub.local import client_settings, principal_password
from hub.provision import ClusterAdmin
from hub.provision import provision as run_provision
from hub.topology import Topology, TopologyError


@click.command()
@click.option(
    "--topology",
    "topology_file",
    type=click.Path(exists=True, path_type=Path),
    help="Topology YAML (default: the packaged hub/topology.yaml).",
)
@click.option("--namespace", default="", help="Prefix for every topic, group and transactional id.")
@click.option("--dry-run", is_flag=True, help="Print the changes without applying them.")
def provision(topology_file: Path | None, namespace: str, dry_run: bool) -> None:
    """Create SCRAM users, topics and ACLs idempotently; a second run changes nothing.

    Connects to the local broker, or to the cluster named by MASH_KAFKA_* (as a super user).
    New users' passwords are generated into MASH_HOME/secrets (or taken from MASH_SECRET_*).
    """
    try:
        topology = Topology.load(topology_file, namespace)
        admin = ClusterAdmin(client_settings("admin"))
        change = run_provision(topology, admin, principal_password, dry_run=dry_run)
    except (TopologyError, BrokerError) as exc:
        raise click.ClickException(str(exc)) from exc
    if change.empty:
        click.echo("cluster already matches the topology; nothing to do")
        return
    verb = "would" if dry_run else "did"
    for line in change.describe():
        click.echo(f"{verb}: {line}")

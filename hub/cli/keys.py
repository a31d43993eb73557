"""`mash keys ...`: create, rotate, revoke, list and verify the principals' keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from hub.keys import KeyRing, KeysUnavailable
from hub.keys.directory import EXPIRY_WARNING, KeyStatus
from hub.keys.local import local_key_store
from hub.topology import Topology


@click.group()
def keys() -> None:
    """Per-principal encryption (X25519) and signing (Ed25519) keys in a root-signed directory."""


@keys.command()
@click.option(
    "--lifetime-days",
    type=int,
    default=365,
    show_default=True,
    help="Validity of newly created keys.",
)
def init(lifetime_days: int) -> None:
    """Create the root key and keys for every topology principal that lacks them (idempotent)."""
    store = local_key_store()
    created = store.init(Topology.load().service_principals(), timedelta(days=lifetime_days))
    click.echo(f"{len(created)} keys created; directory {store.directory_file}")


@keys.command()
@click.argument("principal")
@click.option(
    "--overlap-days",
    type=float,
    default=7.0,
    show_default=True,
    help="How long the old keys stay valid so in-flight messages still open.",
)
@click.option(
    "--activate-after-minutes",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Announce the new keys now but use them only from this many minutes on: with "
    "services on several hosts, time for the key folder to reach every host first (else a "
    "host that has not got it yet refuses the first messages that use them).",
)
def rotate(principal: str, overlap_days: float, activate_after_minutes: float) -> None:
    """Give PRINCIPAL new keys; its old ones lapse after the overlap (counted from when the
    new ones come into use). Running services take them in without a restart."""
    delay = timedelta(minutes=activate_after_minutes)
    try:
        created = local_key_store().rotate(
            principal, timedelta(days=overlap_days), activate_after=delay
        )
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    click.echo(f"new keys for {principal}: {', '.join(created)}")
    if delay:
        starts = datetime.now(UTC) + delay
        click.echo(f"in use from {starts:%Y-%m-%d %H:%M:%S}Z: copy the key folder to every host")


@keys.command()
@click.argument("key_id")
@click.option("--reason", required=True, help="Why (recorded in the directory).")
def revoke(key_id: str, reason: str) -> None:
    """Revoke KEY_ID: messages signed by it or sealed to it are refused from now on."""
    try:
        entry = local_key_store().revoke(key_id, reason)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    click.echo(f"revoked {entry.key_id} ({entry.owner}, {entry.use.value})")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_keys(as_json: bool) -> None:
    """Every key: owner, use, status, expiry, with a warning for keys that lapse soon."""
    directory = local_key_store().load_directory()
    now = datetime.now(UTC)
    if as_json:
        click.echo(json.dumps(directory.model_dump(mode="json")["entries"], indent=2))
        return
    click.echo(f"directory serial {directory.serial}, issued {directory.issued_at:%Y-%m-%d %H:%M}Z")
    for e in sorted(directory.entries, key=lambda e: (e.owner, e.use, e.not_before)):
        days = (e.not_after - now).days
        flag = ""
        if e.status is KeyStatus.REVOKED:
            flag = f"REVOKED: {e.revocation_reason}"
        elif e.not_after < now:
            flag = "lapsed"
        elif e.not_before > now:
            flag = f"announced: in use from {e.not_before:%Y-%m-%d %H:%M}Z"
        elif e.expires_soon(now):
            flag = f"WARNING: expires in {days} days"
        click.echo(
            f"{e.key_id}  {e.owner:12} {e.use.value:8} {e.status.value:8} "
            f"until {e.not_after:%Y-%m-%d}  {flag}"
        )


@keys.command()
def verify() -> None:
    """Check the directory's root signature and that every principal's keys load and match."""
    store = local_key_store()
    try:
        directory = store.load_directory()
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"directory: {exc}") from exc
    now = datetime.now(UTC)
    problems: list[str] = []
    for owner in directory.owners():
        try:
            ring = KeyRing.load(store, owner, now)
        except KeysUnavailable as exc:
            problems.append(str(exc))
            continue
        for entry in ring.expiring(now):
            click.echo(
                f"warning: {owner} key {entry.key_id} ({entry.use.value}) expires "
                f"{entry.not_after:%Y-%m-%d}, within {EXPIRY_WARNING.days} days"
            )
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo(
        f"ok: directory serial {directory.serial} signed by root "
        f"{directory.root_key_id}; {len(directory.owners())} principals' keys load"
    )

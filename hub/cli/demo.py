"""`mash demo`: from nothing to packages on embedded defaults, then a clean stop."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import click

from hub.cli.common import friendly_errors, principal
from hub.dutymanager import PRINCIPAL, Inbox, sync
from hub.intake import prepare as prepare_referral
from hub.intake import publish_referral
from hub.paths import mash_home
from hub.render import package_text
from hub.sources.generate import referral_for_household
from hub.stack import down, prepare, up
from hub.transport.kafka import KafkaPublisher

LEVELS = (("LEVEL_3", "police"), ("LEVEL_2", "health"), ("LEVEL_1", "education"), ("NFA", None))


async def _send(referrals: list[dict[str, object]]) -> None:
    me = principal("intake")
    async with KafkaPublisher(me.kafka) as publisher:
        for referral in referrals:
            await publish_referral(referral, me.ring, me.topology, publisher)


async def _collect(inbox: Inbox, want: set[str], timeout_s: float) -> None:
    me = principal(PRINCIPAL)
    async with asyncio.timeout(timeout_s):
        while not want <= {p["referral_id"] for p in inbox.packages()}:
            await sync(inbox, me.ring, me.kafka, me.topology, idle_ms=600)


@click.command()
@click.option(
    "--people", type=int, default=2000, show_default=True, help="Synthetic population size."
)
@click.option("--keep-running", is_flag=True, help="Leave the broker and services running.")
@friendly_errors
def demo(people: int, keep_running: bool) -> None:
    """Broker, provisioning, keys, synthetic sources, every service; then a Level 3, 2, 1 and
    a no-further-action referral; prints the packages, a disclosure-log summary and its
    verification, and stops cleanly."""
    from click.testing import CliRunner

    from hub.cli.audit import audit

    home = mash_home()
    began = time.monotonic()
    click.echo("[1/5] broker, provisioning, keys and synthetic sources ...")
    prepare(home, people)
    click.echo("[2/5] starting the firewall, the collator and four agency adapters ...")
    try:
        for s in up(home):
            click.echo(f"      {s.name:18} ready (pid {s.pid}, log {s.log})")
        referrals = [
            prepare_referral(
                referral_for_household(home / "sources", level, seed=i, known_to=agency)
            )
            for i, (level, agency) in enumerate(LEVELS)
        ]
        click.echo(
            "[3/5] sending referrals: "
            + ", ".join(f"{r['level']} {str(r['referral_id'])[:8]}" for r in referrals)
        )
        asyncio.run(_send(referrals))
        inbox = Inbox(home / "state" / "dutymanager" / "inbox.db")
        asyncio.run(_collect(inbox, {str(r["referral_id"]) for r in referrals}, 120))
        click.echo("[4/5] packages received by the duty manager:")
        for n in inbox.notifications():
            received = next(
                r["received_at"] for r in referrals if r["referral_id"] == n["referral_id"]
            )
            assert isinstance(received, datetime)
            latency = (n["created_at"] - received).total_seconds() * 1000
            click.echo(
                f"      NOTIFICATION {n['level']} {n['referral_id'][:8]} to "
                f"{', '.join(n['recipients'])} {latency:.0f} ms after intake"
            )
        for referral in referrals:
            for package in inbox.packages(str(referral["referral_id"])):
                click.echo("")
                click.echo(package_text(package))
        inbox.close()
        if not keep_running:
            down(home)  # services drain: the firewall signs a final checkpoint
        click.echo("")
        click.echo("[5/5] disclosure log (checkpoints witnessed on mash.audit):")
        runner = CliRunner()
        click.echo(runner.invoke(audit, ["summary"]).output)
        click.echo(runner.invoke(audit, ["verify", "--from-kafka"]).output)
    finally:
        if not keep_running:
            from hub.broker import LocalBroker

            down(home)
            LocalBroker(home).stop()
            click.echo("stopped services and broker")
    click.echo(
        f"demo finished in {time.monotonic() - began:.0f}s ({datetime.now(UTC):%Y-%m-%d %H:%M}Z)"
    )

"""`mash demo`: from nothing to packages on embedded defaults, then a clean stop."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from hub.cli.common import friendly_errors, principal
from hub.concerns import referral_id_for
from hub.dutymanager import PRINCIPAL, Inbox, prepare_decision, publish_decision, sync
from hub.intake import prepare as prepare_referral
from hub.intake import publish_referral
from hub.paths import mash_home
from hub.render import decision_text, package_text
from hub.sources.concerns import household_with_child, raise_concern
from hub.sources.generate import referral_for_household
from hub.stack import down, prepare, up
from hub.transport.kafka import KafkaPublisher

LEVELS = (("LEVEL_3", "police"), ("LEVEL_2", "health"), ("LEVEL_1", "education"), ("NFA", None))
OUTCOMES = {
    "LEVEL_3": "s47-strategy",
    "LEVEL_2": "s17-assessment",
    "LEVEL_1": "locality-early-help",
    "NFA": "nfa-advice",
}


async def _send(referrals: list[dict[str, object]]) -> None:
    me = principal("intake")
    async with KafkaPublisher(me.kafka) as publisher:
        for referral in referrals:
            await publish_referral(referral, me.ring, me.topology, publisher)


async def _decide(inbox: Inbox, decisions: list[dict[str, object]], timeout_s: float) -> None:
    """Send the duty manager's decisions and wait until the hub has confirmed each."""
    me = principal(PRINCIPAL)
    async with KafkaPublisher(me.kafka) as publisher:
        for decision in decisions:
            await publish_decision(decision, me.ring, me.topology, publisher)
    want = {d["decision_id"] for d in decisions}
    async with asyncio.timeout(timeout_s):
        while not want <= {d["decision_id"] for d in inbox.messages("mash.CaseDecision")}:
            await sync(inbox, me.ring, me.kafka, me.topology, idle_ms=600)


async def _feedback(home_inbox: Inbox, timeout_s: float, count: int) -> None:
    """The front door's feedback (its own keys), once ``count`` items are in."""
    me = principal("intake")
    async with asyncio.timeout(timeout_s):
        while len(home_inbox.messages("mash.Feedback")) < count:
            await sync(
                home_inbox, me.ring, me.kafka, me.topology, 600, ("mash.feedback.intake",), "fb"
            )


def _agency_feedback(home: Path, agency: str, timeout_s: float) -> list[dict[str, Any]]:
    """What an agency's adapter has received as feedback (waits for the first)."""
    from hub.adapter_state import AdapterState

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = AdapterState(home / "state" / f"adapter-{agency}" / "adapter.db")
        try:
            found = state.received("mash.Feedback")
        finally:
            state.close()
        if found:
            return found
        time.sleep(0.3)
    return []


def _correct_one(runner: Any, audit: click.Group, home: Path, referral_id: str) -> None:
    """IG records one released item of ``referral_id`` as inaccurate; the duty manager's inbox
    takes the notice in and the package marks the item."""
    from hub.cli.audit import open_log

    log = open_log()
    try:
        released = [
            e.seq
            for e in log.entries("correlation_id = ?", (referral_id,))
            if e.body.get("decision") == "RELEASED" and "collator" in e.body.get("recipients", [])
        ]
    finally:
        log.close()
    if not released:
        click.echo(f"      nothing was released for {referral_id[:8]}: no correction to show")
        return
    args = ["correct", str(released[0]), "--kind", "inaccurate", "--by", "IG officer (demo)"]
    args += ["--reason", "demo: the agency has since amended this record"]
    for line in runner.invoke(audit, args).output.splitlines():
        click.echo(f"      {line}")
    me = principal(PRINCIPAL)
    inbox = Inbox(home / "state" / "dutymanager" / "inbox.db")
    try:
        asyncio.run(sync(inbox, me.ring, me.kafka, me.topology, idle_ms=600))
        fixes = inbox.messages("mash.Correction", referral_id)
        marked = sum(
            package_text(p, fixes).count("!! CORRECTED") for p in inbox.packages(referral_id)
        )
    finally:
        inbox.close()
    click.echo(
        f"      the duty manager received {len(fixes)} correction notice(s); "
        f"{marked} item(s) marked in the package of {referral_id[:8]}"
    )


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
    a no-further-action referral plus a police PPN raised by the police system; prints the
    packages, decides each (products to the teams, feedback to referrers), has information
    governance correct one released item (the duty manager is told), prints a disclosure-log
    summary and its verification, and stops cleanly."""
    from click.testing import CliRunner

    from hub.cli.audit import audit

    home = mash_home()
    began = time.monotonic()
    click.echo("[1/6] broker, provisioning, keys and synthetic sources ...")
    prepare(home, people)
    click.echo("[2/6] starting the firewall, the collator and four agency adapters ...")
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
            "[3/6] sending referrals: "
            + ", ".join(f"{r['level']} {str(r['referral_id'])[:8]}" for r in referrals)
        )
        asyncio.run(_send(referrals))
        household = household_with_child(home / "sources", ("education",), seed=1)
        ppn = raise_concern(home / "sources", "police", household)
        ppn_id = referral_id_for("POLICE", ppn["source_reference"])
        click.echo(
            f"      and a Public Protection Notice {ppn['source_reference']} recorded in the "
            f"police system (its adapter raises it: referral {ppn_id[:8]})"
        )
        inbox = Inbox(home / "state" / "dutymanager" / "inbox.db")
        asyncio.run(_collect(inbox, {str(r["referral_id"]) for r in referrals} | {ppn_id}, 120))
        click.echo("[4/6] packages received by the duty manager:")
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
        for rid in [*(str(r["referral_id"]) for r in referrals), ppn_id]:
            for package in inbox.packages(rid):
                click.echo("")
                click.echo(package_text(package))
        click.echo("")
        click.echo(
            "[5/6] the duty manager decides; products go to the teams, outcomes to referrers:"
        )
        decisions = [
            prepare_decision(
                inbox,
                str(r["referral_id"]),
                OUTCOMES[str(r["level"])],
                "demo: threshold assessed against the Levels of Need",
                "duty manager",
            )
            for r in referrals
        ] + [
            prepare_decision(
                inbox,
                ppn_id,
                "s17-assessment",
                "demo: child present at domestic abuse; assessment",
                "duty manager",
            )
        ]
        asyncio.run(_decide(inbox, decisions, 60))
        for decision in inbox.messages("mash.CaseDecision"):
            click.echo(f"      {decision['referral_id'][:8]} " + decision_text(decision))
        front = Inbox(home / "state" / "intake" / "feedback.db")
        asyncio.run(_feedback(front, 60, len(referrals)))
        for item in front.messages("mash.Feedback"):
            click.echo(f"      feedback to the front door: {item['message']}")
            if item["advice"]:
                click.echo(f"        advice: {item['advice'][:120]}...")
        front.close()
        for item in _agency_feedback(home, "police", 30):
            click.echo(f"      feedback to police (its adapter): {item['message']}")
        inbox.close()
        if not keep_running:
            down(home)  # services drain: the firewall signs a final checkpoint
        click.echo("")
        click.echo(
            "[6/6] information governance corrects a disclosure; the disclosure log "
            "(checkpoints witnessed on mash.audit):"
        )
        runner = CliRunner()
        _correct_one(runner, audit, home, str(referrals[1]["referral_id"]))
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

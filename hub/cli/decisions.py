"""`mash decide`, `mash queue` and `mash feedback`: the duty manager's decision, what a
recipient team receives, and what referrers are told."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from hub.cli.common import friendly_errors, principal
from hub.decisions import OUTCOMES, DecisionInvalid
from hub.dutymanager import PRINCIPAL, Inbox, prepare_decision, publish_decision, sync
from hub.paths import mash_home
from hub.policy.model import load_policy
from hub.render import correction_line, correction_text, corrections_of, feedback_text, product_text
from hub.transport.kafka import KafkaPublisher

AGENCIES = ("police", "health", "education", "housing")


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=lambda v: v.isoformat())


@click.command()
@click.argument("referral_id")
@click.option("--outcome", required=True, type=click.Choice(list(OUTCOMES)), help="The decision.")
@click.option("--reason", required=True, help="Why (recorded; never sent to the referrer).")
@click.option(
    "--team",
    type=click.Choice(["east", "central", "west"]),
    help="Locality Team (early help, step-down; default: from the child's address).",
)
@click.option("--lead-professional", help="Step-down: the lead professional (name, role).")
@click.option("--by", "decided_by", default="duty manager", show_default=True, help="Who decides.")
@friendly_errors
def decide(
    referral_id: str,
    outcome: str,
    reason: str,
    team: str | None,
    lead_professional: str | None,
    decided_by: str,
) -> None:
    """Record the duty manager's decision on REFERRAL_ID (or a unique prefix).

    The firewall disseminates the information product to the recipient team under the
    policy, feeds the outcome back to every referrer and logs it all. Before the package is
    complete only a Level 3 referral may be decided (recorded as such). `step-down` moves a
    case social care progressed (s17/s47) to a locality team with a lead professional.
    """
    me = principal(PRINCIPAL)
    inbox = Inbox(me.home / "state" / "dutymanager" / "inbox.db")
    try:
        asyncio.run(sync(inbox, me.ring, me.kafka, me.topology, idle_ms=600))
        try:
            decision = prepare_decision(
                inbox, referral_id, outcome, reason, decided_by, team, lead_professional
            )
        except DecisionInvalid as exc:
            raise click.ClickException(str(exc)) from exc
    finally:
        inbox.close()

    async def send() -> None:
        async with KafkaPublisher(me.kafka) as publisher:
            await publish_decision(decision, me.ring, me.topology, publisher)

    asyncio.run(send())
    click.echo(f"decision {decision['decision_id']} sent: {decision['referral_id']} {outcome}")


@click.group()
def queue() -> None:
    """A recipient team's queue of information products (e.g. locality-east)."""


def _recipients() -> list[str]:
    return sorted(load_policy().recipients)


def _team_inbox(recipient: str) -> tuple[Inbox, str]:
    holder = load_policy().recipients[recipient].principal
    me = principal(holder)
    inbox = Inbox(me.home / "state" / holder / f"products-{recipient}.db")
    logical = (f"mash.products.{recipient}", f"mash.corrections.{holder}")
    asyncio.run(sync(inbox, me.ring, me.kafka, me.topology, 800, logical, f"queue-{recipient}"))
    return inbox, holder


@queue.command("list")
@click.argument("recipient", type=click.Choice(_recipients()))
@friendly_errors
def queue_list(recipient: str) -> None:
    """One line per product RECIPIENT has received (read with its own keys)."""
    inbox, _ = _team_inbox(recipient)
    for p in inbox.messages("mash.InformationProduct"):
        lead = f"  lead {p['lead_professional']}" if p.get("lead_professional") else ""
        click.echo(
            f"{p['referral_id']}  {p['outcome'].lower().replace('_', '-'):20} {p['level']:8} "
            f"{p['created_at']:%Y-%m-%d %H:%M}{lead}"
        )
    inbox.close()


@queue.command("show")
@click.argument("recipient", type=click.Choice(_recipients()))
@click.argument("referral_id")
@click.option("--json", "as_json", is_flag=True, help="The full records as JSON.")
@friendly_errors
def queue_show(recipient: str, referral_id: str, as_json: bool) -> None:
    """The products RECIPIENT holds for REFERRAL_ID (or a unique prefix)."""
    inbox, _ = _team_inbox(recipient)
    found = inbox.messages("mash.InformationProduct", referral_id)
    fixes = inbox.messages("mash.Correction", referral_id) if found else []
    inbox.close()
    if not found:
        raise click.ClickException(f"{recipient} holds no product for {referral_id}")
    if as_json:
        click.echo(_json({"products": found, "corrections": fixes}))
        return
    texts = [product_text(p, corrections_of(fixes, p["referral_id"])) for p in found]
    click.echo("\n\n".join([*texts, *map(correction_text, fixes)]))


@queue.command("corrections")
@click.argument("recipient", type=click.Choice(_recipients()))
@friendly_errors
def queue_corrections(recipient: str) -> None:
    """Information governance's corrections of what RECIPIENT's principal was sent (products,
    notifications), one per line; `mash queue show` marks the items."""
    inbox, _ = _team_inbox(recipient)
    fixes = inbox.messages("mash.Correction")
    inbox.close()
    for c in fixes:
        click.echo(correction_line(c))


@click.group()
def feedback() -> None:
    """Outcome feedback to referrers (never package contents)."""


@feedback.command("list")
@click.option(
    "--agency",
    type=click.Choice(AGENCIES),
    help="What an agency's adapter received (default: the front door's feedback).",
)
@friendly_errors
def feedback_list(agency: str | None) -> None:
    """Feedback received by the front door, or by one agency's adapter."""
    if agency:
        from hub.adapter_state import AdapterState

        path = mash_home() / "state" / f"adapter-{agency}" / "adapter.db"
        if not path.is_file():
            raise click.ClickException(f"the {agency} adapter has not run here yet ({path})")
        state = AdapterState(path)
        found = state.received("mash.Feedback")
        state.close()
    else:
        me = principal("intake")
        inbox = Inbox(me.home / "state" / "intake" / "feedback.db")
        logical = ("mash.feedback.intake",)
        asyncio.run(sync(inbox, me.ring, me.kafka, me.topology, 800, logical, "feedback"))
        found = inbox.messages("mash.Feedback")
        inbox.close()
    for item in found:
        click.echo(feedback_text(item))

"""`mash packages ...` and `mash notifications list`: the duty manager's view."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import click

from hub.cli.common import friendly_errors, principal
from hub.dutymanager import PRINCIPAL, Inbox, sync, wait_for
from hub.render import correction_line, correction_text, corrections_of, decision_text, package_text


def _inbox() -> tuple[Inbox, Any]:
    me = principal(PRINCIPAL)
    inbox = Inbox(me.home / "state" / "dutymanager" / "inbox.db")
    asyncio.run(sync(inbox, me.ring, me.kafka, me.topology))
    return inbox, me


def _json(value: Any) -> str:
    return json.dumps(
        value, indent=2, default=lambda v: v.hex() if isinstance(v, bytes) else v.isoformat()
    )


@click.group()
def packages() -> None:
    """MASH information packages received by the duty manager."""


@packages.command("list")
@friendly_errors
def list_packages() -> None:
    """One line per package and addendum: referral, level, deadline met, agencies answered,
    and the decision once recorded."""
    inbox, _ = _inbox()
    outcome = {d["referral_id"]: d["outcome"] for d in inbox.messages("mash.CaseDecision")}
    corrected = Counter(c["referral_id"] for c in inbox.messages("mash.Correction"))
    for p in inbox.packages():
        answered = sum(a["answer"] != "NO_RESPONSE" for a in p["agencies"])
        kind = f"addendum {p['addendum']}" if p["addendum"] else "package"
        click.echo(
            f"{p['referral_id']}  {p['level']:8} {kind:11} "
            f"deadline {'met' if p['deadline_met'] else 'MISSED':6} "
            f"agencies {answered}/{len(p['agencies'])}  {p['created_at']:%Y-%m-%d %H:%M}"
            + (
                f"  decided {outcome[p['referral_id']].lower()}"
                if p["referral_id"] in outcome
                else ""
            )
            + (f"  CORRECTED x{corrected[p['referral_id']]}" if corrected[p["referral_id"]] else "")
        )
    inbox.close()


@packages.command("corrections")
@friendly_errors
def list_corrections() -> None:
    """Information governance's corrections of what the duty manager received: one line each
    (`mash packages show REFERRAL` marks the items)."""
    inbox, _ = _inbox()
    fixes = inbox.messages("mash.Correction")
    inbox.close()
    for c in fixes:
        click.echo(correction_line(c))


@packages.command()
@click.argument("referral_id")
@click.option("--json", "as_json", is_flag=True, help="The full records as JSON.")
@friendly_errors
def show(referral_id: str, as_json: bool) -> None:
    """The package (and addenda) of REFERRAL_ID (or a unique prefix of it)."""
    inbox, _ = _inbox()
    found = inbox.packages(referral_id)
    decided = inbox.messages("mash.CaseDecision", referral_id)
    fixes = inbox.messages("mash.Correction", referral_id)
    inbox.close()
    if not found and not decided and not fixes:
        raise click.ClickException(f"no package for {referral_id} yet")
    if as_json:
        click.echo(_json({"packages": found, "decisions": decided, "corrections": fixes}))
        return
    texts = [package_text(p, corrections_of(fixes, p["referral_id"])) for p in found]
    click.echo("\n\n".join([*texts, *map(correction_text, fixes), *map(decision_text, decided)]))


@packages.command()
@click.argument("referral_id")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds.")
@friendly_errors
def wait(referral_id: str, timeout: float) -> None:
    """Wait until the package of REFERRAL_ID arrives (exit 1 on timeout)."""
    me = principal(PRINCIPAL)
    inbox = Inbox(me.home / "state" / "dutymanager" / "inbox.db")
    try:
        found = asyncio.run(wait_for(inbox, me.ring, me.kafka, me.topology, referral_id, timeout))
    except TimeoutError as exc:
        raise click.ClickException(f"no package for {referral_id} within {timeout}s") from exc
    finally:
        inbox.close()
    click.echo(f"{referral_id}: {len(found)} package(s)")


@click.group()
def notifications() -> None:
    """Immediate notifications (Level 3)."""


@notifications.command("list")
@friendly_errors
def list_notifications() -> None:
    """Every notification received."""
    inbox, _ = _inbox()
    for n in inbox.notifications():
        click.echo(
            f"{n['created_at']:%Y-%m-%d %H:%M:%S}  {n['referral_id']}  {n['level']}  "
            f"to {', '.join(n['recipients'])}: {n['message']}"
        )
    inbox.close()

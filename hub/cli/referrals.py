"""`mash refer`, `mash triage suggest`, `mash referrals relevel`: the front door."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from hub.cli.common import friendly_errors, principal
from hub.intake import ReferralInvalid, load_referral, publish_referral
from hub.transport.kafka import KafkaPublisher
from hub.triage import suggest


async def _publish(record: dict[str, Any], schema_name: str) -> str:
    me = principal("intake")
    async with KafkaPublisher(me.kafka) as publisher:
        if schema_name == "mash.Referral":
            return await publish_referral(record, me.ring, me.topology, publisher)
        return await publish_referral(record, me.ring, me.topology, publisher, schema_name)


@click.command()
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@friendly_errors
def refer(file: Path) -> None:
    """Publish the referral in FILE (JSON or YAML; see docs/referrals.md) and print its id."""
    try:
        referral = load_referral(file)
    except ReferralInvalid as exc:
        raise click.ClickException(f"invalid referral: {exc}") from exc
    click.echo(asyncio.run(_publish(referral, "mash.Referral")))


@click.group()
def triage() -> None:
    """Triage help at the front door (advice only: the level is a professional decision)."""


@triage.command("suggest")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
def triage_suggest(file: Path) -> None:
    """Suggest a level from the indicators in FILE, using the Levels of Need table."""
    raw = yaml.safe_load(file.read_text())
    advice = suggest(list(raw.get("indicators", [])), str(raw.get("concern", "")))
    click.echo(json.dumps(advice, indent=2))


@click.group()
def referrals() -> None:
    """Change live referrals."""


@referrals.command()
@click.argument("referral_id")
@click.option(
    "--level", type=click.Choice(["NFA", "1", "2", "3"]), required=True, help="The new level."
)
@click.option("--reason", required=True, help="Why (recorded in the disclosure log).")
@click.option("--by", "decided_by", default="duty manager", show_default=True, help="Who decided.")
@friendly_errors
def relevel(referral_id: str, level: str, reason: str, decided_by: str) -> None:
    """Escalate or de-escalate REFERRAL_ID, with a recorded reason."""
    record = {
        "referral_id": referral_id,
        "level": level if level == "NFA" else f"LEVEL_{level}",
        "reason": reason,
        "decided_by": decided_by,
        "at": datetime.now(UTC),
    }
    asyncio.run(_publish(record, "mash.Relevel"))
    click.echo(f"{referral_id}: re-levelled to {record['level']}")

"""`mash sources ...`: the agencies' record sources for the embedded set-up."""

from __future__ import annotations

import time
from pathlib import Path

import click

from hub.paths import mash_home
from hub.sources.base import SourceUnavailable
from hub.sources.generate import Population
from hub.sources.importer import ImportInvalid, import_file


@click.group()
def sources() -> None:
    """Agency record sources (SQLite per agency under MASH_HOME/sources)."""


@sources.command()
@click.option(
    "--people",
    type=int,
    default=2000,
    show_default=True,
    help="Roughly how many people (in households) to create.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
def generate(people: int, seed: int) -> None:
    """Create a synthetic population for all four agencies at once (never real people)."""
    began = time.monotonic()
    counts = Population(seed).write(mash_home() / "sources", people)
    click.echo(
        f"{people} people in {time.monotonic() - began:.1f}s; records held by: "
        + ", ".join(f"{a} {n}" for a, n in counts.items())
    )


@sources.command("import")
@click.argument("agency", type=click.Choice(["police", "health", "education", "housing"]))
@click.argument("file", type=click.Path(exists=True, path_type=Path))
def import_(agency: str, file: Path) -> None:
    """Load AGENCY's people and records from FILE (format in docs/sources.md)."""
    try:
        count = import_file(agency, file, mash_home() / "sources" / f"{agency}.db")
    except ImportInvalid as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"imported {count} people into {agency}")


@sources.command()
@click.argument("agency", type=click.Choice(["police", "health", "education", "housing"]))
@click.option("--household", help="Household id (default: one with a child the agency holds).")
@click.option("--reference", help="The agency's own reference (default: a new one).")
@click.option("--seed", type=int, default=0, show_default=True, help="Picks the household.")
def concern(agency: str, household: str | None, reference: str | None, seed: int) -> None:
    """Record a synthetic concern in AGENCY's system (a police PPN, a school's or a health
    visitor's concern); the running adapter raises it as a referral within seconds."""
    from hub.sources.concerns import household_with_child, raise_concern

    folder = mash_home() / "sources"
    try:
        chosen = household or household_with_child(folder, (agency,), seed)
        raised = raise_concern(folder, agency, chosen, reference=reference)
    except (LookupError, SourceUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{raised['source_reference']}  household {chosen}")

"""`mash audit ...`: information governance's view of the disclosure log."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import click

from hub.cli.common import friendly_errors, principal
from hub.disclosure_log import DisclosureLog, verify_log
from hub.disclosure_log.pseudonym import pseudonyms
from hub.disclosure_log.store import StoredEntry
from hub.envelope import Opener
from hub.keys import KeyUse
from hub.keys.local import local_key_store
from hub.paths import mash_home
from hub.replay import MemorySeenMessages
from hub.secrets import SecretStore
from hub.transport.kafka import KafkaSubscription


def _log() -> DisclosureLog:
    if url := os.environ.get("MASH_LOG_URL"):
        return DisclosureLog(url)
    ns = os.environ.get("MASH_NAMESPACE", "")
    path = mash_home() / "state" / (f"{ns}.firewall" if ns else "firewall") / "disclosure-log.db"
    if not path.is_file():
        raise click.ClickException(f"no disclosure log at {path}")
    return DisclosureLog(path)


def _line(e: StoredEntry) -> str:
    b = e.body
    what = b.get("data_category") or b.get("agency") or ""
    return (
        f"{e.seq:6} {b['at'][:19]} {b['operation']:9} {b.get('decision') or '-':14} "
        f"{b['correlation_id'][:8]} {b.get('agency') or '-':9} {what:34} "
        f"{b.get('rule_id') or '-'}"
    )


def _filter(
    log: DisclosureLog,
    referral: str | None,
    agency: str | None,
    decision: str | None,
    since: str | None,
    until: str | None,
) -> list[StoredEntry]:
    clauses, params = [], []
    if referral:
        clauses.append("correlation_id LIKE ?")
        params.append(referral + "%")
    if since:
        clauses.append("at >= ?")
        params.append(since)
    if until:
        clauses.append("at < ?")
        params.append(until)
    found = list(log.entries(" AND ".join(clauses), params))
    if agency:
        found = [e for e in found if (e.body.get("agency") or "").lower() == agency.lower()]
    if decision:
        found = [
            e
            for e in found
            if (e.body.get("decision") or "").lower() == decision.lower()
            or e.body["operation"] == decision.lower()
        ]
    return found


@click.group()
def audit() -> None:
    """Review the disclosure log: who asked, what was released or withheld, why, under which
    policy version and lawful basis. Subjects appear only as keyed pseudonyms. The log is the
    firewall's SQLite file in MASH_HOME, or the PostgreSQL database named by MASH_LOG_URL."""


def _filters(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--referral", help="Referral id (or prefix)."),
            click.option("--agency", help="police, health, education or housing."),
            click.option(
                "--decision",
                help="released, summarised, existence_only, withheld, "
                "or an operation (collect, re-rate).",
            ),
            click.option("--since", help="ISO date/time (UTC), inclusive."),
            click.option("--until", help="ISO date/time (UTC), exclusive."),
        ]
    ):
        fn = option(fn)
    return fn


@audit.command("list")
@_filters
@click.option("--json", "as_json", is_flag=True, help="Entries as JSON lines.")
def list_entries(
    referral: str | None,
    agency: str | None,
    decision: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Entries matching the filters."""
    log = _log()
    for e in _filter(log, referral, agency, decision, since, until):
        click.echo(json.dumps({"seq": e.seq, **e.body}) if as_json else _line(e))
    log.close()


@audit.command()
@click.argument("entry")
def show(entry: str) -> None:
    """One entry in full, by sequence number or entry id."""
    log = _log()
    found = [e for e in log.entries() if str(e.seq) == entry or e.body["entry_id"] == entry]
    log.close()
    if not found:
        raise click.ClickException(f"no entry {entry}")
    click.echo(json.dumps({"seq": found[0].seq, **found[0].body}, indent=2))


@audit.command()
@click.option("--nhs-number")
@click.option("--upn")
@click.option("--pnc-id")
@click.option("--family-name")
@click.option("--given-names", default="")
@click.option("--dob", help="Date of birth, YYYY-MM-DD (with the names).")
@click.option("--json", "as_json", is_flag=True)
def subject(
    nhs_number: str | None,
    upn: str | None,
    pnc_id: str | None,
    family_name: str | None,
    given_names: str,
    dob: str | None,
    as_json: bool,
) -> None:
    """Everything ever collected, disclosed or withheld about one person (subject access)."""
    key = SecretStore(mash_home() / "secrets").get("log-pseudonym-key")
    if key is None:
        raise click.ClickException("no pseudonym key in this run folder")
    wanted = pseudonyms(
        key.get_secret_value().encode(),
        given_names=given_names,
        family_name=family_name or "",
        date_of_birth=date.fromisoformat(dob) if dob else None,
        nhs_number=nhs_number,
        upn=upn,
        pnc_id=pnc_id,
    )
    if not wanted:
        raise click.ClickException("give an identifier, or family name with date of birth")
    log = _log()
    for e in log.by_pseudonym(wanted):
        click.echo(
            json.dumps({"seq": e.seq, **e.body})
            if as_json
            else _line(e) + f"  to {','.join(e.body.get('recipients') or [])}"
        )
    log.close()


async def _witnessed() -> list[str]:
    me = principal("auditor")
    topic = me.topology.topic("mash.audit")
    opener = Opener(me.ring, MemorySeenMessages())
    notes: list[str] = []
    group = me.topology.group_prefix("auditor") + "verify-" + os.urandom(4).hex()
    async with KafkaSubscription(me.kafka, [topic], group) as subscription:
        idle = 0
        async for batch in subscription.batches(timeout_ms=300):
            notes.extend(opener.open(m.value, topic=topic).record["note"] for m in batch)
            idle = 0 if batch else idle + 1
            if idle >= 4:
                return notes
    return notes


@audit.command()
@click.option(
    "--checkpoints",
    "files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="JSON file with a list of witnessed checkpoint notes (repeatable).",
)
@click.option("--from-kafka", is_flag=True, help="Also check the checkpoints on mash.audit.")
@friendly_errors
def verify(files: tuple[Path, ...], from_kafka: bool) -> None:
    """Recompute every entry, the hash chain and each signed checkpoint; report the first bad
    entry and what is wrong (exit 1)."""
    directory = local_key_store().load_directory()
    keys = [
        e.verifier() for e in directory.entries if e.owner == "firewall" and e.use is KeyUse.SIGN
    ]
    witnessed = [n for f in files for n in json.loads(f.read_text())]
    if from_kafka:
        witnessed += asyncio.run(_witnessed())
    log = _log()
    report = verify_log(log, keys, witnessed)
    log.close()
    if report.ok:
        click.echo(f"ok: {report.entries} entries, {report.checkpoints} checkpoints verified")
        return
    click.echo(f"FAILED: first bad entry {report.first_bad_entry}", err=True)
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    raise SystemExit(1)


@audit.command()
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="json", show_default=True
)
@_filters
def export(
    fmt: str,
    referral: str | None,
    agency: str | None,
    decision: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Write the (filtered) log to standard output as CSV or JSON."""
    log = _log()
    rows = [
        {"seq": e.seq, **e.body} for e in _filter(log, referral, agency, decision, since, until)
    ]
    log.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    columns = sorted({k for r in rows for k in r})
    writer = csv.DictWriter(sys.stdout, fieldnames=columns)
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()}
        )


@audit.command()
def summary() -> None:
    """Per agency and level: how many items were released, summarised, known-only, withheld."""
    log = _log()
    counts: Counter[tuple[str, str, str]] = Counter()
    for e in log.entries():
        if e.body.get("decision") and e.body.get("data_category") != "notification":
            counts[(e.body.get("agency") or "-", e.body["level"], e.body["decision"])] += 1
    log.close()
    decisions = ("RELEASED", "SUMMARISED", "EXISTENCE_ONLY", "WITHHELD")
    click.echo(f"{'agency':10} {'level':8} " + " ".join(f"{d.lower():>14}" for d in decisions))
    for agency, level in sorted({(a, lv) for a, lv, _ in counts}):
        click.echo(
            f"{agency.lower():10} {level:8} "
            + " ".join(f"{counts[(agency, level, d)]:>14}" for d in decisions)
        )

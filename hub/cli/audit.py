"""`mash audit ...`: information governance's view of the disclosure log."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from hub.cli.common import friendly_errors, principal
from hub.disclosure_log import DisclosureLog, verify_log
from hub.disclosure_log.pseudonym import pseudonyms
from hub.disclosure_log.store import StoredEntry
from hub.envelope.archive import ArchiveOpener
from hub.envelope.format import EnvelopeCodec
from hub.keys import KeyUse
from hub.keys.local import local_key_store
from hub.paths import mash_home
from hub.quarantine_review import (
    Quarantined,
    Unreadable,
    counts,
    details,
    find,
    line,
    matching,
    ordered,
)
from hub.quarantine_review import open_all as open_quarantined
from hub.secrets import SecretStore
from hub.transport.kafka import stream_to_end
from hub.witness import WitnessUnreadable, witnessed_notes


def open_log() -> DisclosureLog:
    """The disclosure log IG reviews: MASH_LOG_URL, else the firewall's SQLite file here."""
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
                "or an operation (collect, re-rate, correct, erase).",
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
    log = open_log()
    for e in _filter(log, referral, agency, decision, since, until):
        click.echo(json.dumps({"seq": e.seq, **e.body}) if as_json else _line(e))
    log.close()


@audit.command()
@click.argument("entry")
def show(entry: str) -> None:
    """One entry in full, by sequence number or entry id."""
    log = open_log()
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
    log = open_log()
    for e in log.by_pseudonym(wanted):
        click.echo(
            json.dumps({"seq": e.seq, **e.body})
            if as_json
            else _line(e) + f"  to {','.join(e.body.get('recipients') or [])}"
        )
    log.close()


def _witnessed() -> list[str]:
    me = principal("auditor")
    try:
        return asyncio.run(witnessed_notes(me.kafka, me.ring, me.topology.topic("mash.audit")))
    except (LookupError, WitnessUnreadable) as exc:
        raise click.ClickException(str(exc)) from exc


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
        witnessed += _witnessed()
    log = open_log()
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
    log = open_log()
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
    """Per agency and level: how many items were released, summarised, known-only, withheld;
    then how many corrections and erasures IG recorded."""
    log = open_log()
    counts: Counter[tuple[str, str, str]] = Counter()
    ig: Counter[str] = Counter()
    for e in log.entries():
        if e.body.get("decision") and e.body.get("data_category") != "notification":
            counts[(e.body.get("agency") or "-", e.body["level"], e.body["decision"])] += 1
        elif e.body["operation"] in ("correct", "erase"):
            ig[e.body["operation"]] += 1
    log.close()
    decisions = ("RELEASED", "SUMMARISED", "EXISTENCE_ONLY", "WITHHELD")
    click.echo(f"{'agency':10} {'level':8} " + " ".join(f"{d.lower():>14}" for d in decisions))
    for agency, level in sorted({(a, lv) for a, lv, _ in counts}):
        click.echo(
            f"{agency.lower():10} {level:8} "
            + " ".join(f"{counts[(agency, level, d)]:>14}" for d in decisions)
        )
    click.echo(f"IG corrections: {ig['correct']}, referrals erased: {ig['erase']}")


@audit.group()
def quarantine() -> None:
    """Review messages the services refused (mash.quarantine, read as the auditor): why,
    which service, where they came from, and what their envelope claims. The refused bytes are
    kept as they arrived and are never decrypted here."""


def _quarantined(
    keep_sealed: Callable[[dict[str, Any]], bool] = lambda record: False,
) -> tuple[list[Quarantined], list[Unreadable], EnvelopeCodec]:
    """The quarantine read to its end a fetch at a time, each record opened as it comes; the
    refused bytes kept only where ``keep_sealed`` says (their description always)."""
    me = principal("auditor")
    topic = me.topology.topic("mash.quarantine")
    opener = ArchiveOpener(me.ring)

    async def review() -> tuple[list[Quarantined], list[Unreadable]]:
        found: list[Quarantined] = []
        unreadable: list[Unreadable] = []
        async for chunk in stream_to_end(me.kafka, topic):
            opened, refused = open_quarantined(chunk, opener, keep_sealed)
            found += opened
            unreadable += refused
        return ordered(found), unreadable

    try:
        found, unreadable = asyncio.run(review())
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    for u in unreadable:
        click.echo(
            f"cannot open the quarantine record at partition {u.partition} offset {u.offset}: "
            f"{u.reason} ({u.detail})",
            err=True,
        )
    return found, unreadable, opener.envelopes


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO date or date/time") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@quarantine.command("list")
@click.option("--reason", help="e.g. BAD_SIGNATURE, MALFORMED, REPLAY, UNKNOWN_SENDER_KEY.")
@click.option("--service", help="The service that refused it: firewall, collator, police, ...")
@click.option("--since", help="ISO date/time (UTC unless given), inclusive.")
@click.option("--until", help="ISO date/time (UTC unless given), exclusive.")
@click.option("--json", "as_json", is_flag=True, help="Full records as JSON lines.")
@friendly_errors
def quarantine_list(
    reason: str | None, service: str | None, since: str | None, until: str | None, as_json: bool
) -> None:
    """Refused messages, oldest first (exit 1 if any record could not be opened)."""
    found, unreadable, envelopes = _quarantined()
    chosen = matching(found, reason=reason, service=service, since=_when(since), until=_when(until))
    for q in chosen:
        click.echo(json.dumps(details(q, envelopes)) if as_json else line(q))
    if unreadable:
        raise SystemExit(1)


@quarantine.command("show")
@click.argument("quarantine_id")
@click.option(
    "--save",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the refused bytes, exactly as received, to this file (for forensics).",
)
@friendly_errors
def quarantine_show(quarantine_id: str, save: Path | None) -> None:
    """One refused message in full, by QUARANTINE_ID (or a unique prefix of it)."""
    found, _, envelopes = _quarantined(lambda r: str(r["quarantine_id"]).startswith(quarantine_id))
    q = find(found, quarantine_id)
    if q is None:
        raise click.ClickException(f"no single quarantine record {quarantine_id}")
    click.echo(json.dumps(details(q, envelopes), indent=2))
    if save is not None:
        save.write_bytes(q.record["sealed"])
        click.echo(f"saved {len(q.record['sealed'])} bytes to {save}", err=True)


@quarantine.command("summary")
@friendly_errors
def quarantine_summary() -> None:
    """How many messages each service refused, per reason."""
    found, unreadable, _ = _quarantined()
    for (service, reason), n in sorted(counts(found).items()):
        click.echo(f"{service:12} {reason:26} {n:>8}")
    click.echo(f"{'total':39} {len(found):>8}")
    if unreadable:
        raise SystemExit(1)

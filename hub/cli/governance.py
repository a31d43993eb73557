"""`mash audit correct | retention | erase`: information governance's own decisions, each
recorded in the disclosure log with the named person who made it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import click
from aiokafka.errors import KafkaError

from hub.broker.errors import BrokerError
from hub.cli.audit import open_log
from hub.cli.common import friendly_errors, principal
from hub.corrections import correction_notice, readers, send_notices
from hub.disclosure_log import DisclosureLog
from hub.disclosure_log.governance import (
    CORRECTION_KINDS,
    ERASURE_GROUNDS,
    GovernanceRefused,
    correction_entry,
    erasure_entry,
)
from hub.disclosure_log.store import StoredEntry
from hub.envelope import Sealer
from hub.erasure import HubStores, child_dobs
from hub.keys import KeyRing, KeysUnavailable
from hub.keys.local import local_key_store
from hub.paths import mash_home
from hub.policy.model import load_policy
from hub.retention import ReferralRetention, retention_of
from hub.runtime.settings import ServiceSettings
from hub.transport.kafka import KafkaPublisher

PRINCIPAL = "auditor"
NOTIFY_TIMEOUT_S = 60.0  # connecting and sending the notices; the entry is recorded before


def _key_id() -> str | None:
    """The auditor's signing key id, when this run folder holds the auditor's keys."""
    try:
        return KeyRing.load(local_key_store(mash_home()), PRINCIPAL).signing_key_id
    except KeysUnavailable:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def _who(by: str) -> dict[str, Any]:
    """Who records an IG decision: the named person, as the auditor, now."""
    return {"by": by, "principal": PRINCIPAL, "key_id": _key_id(), "at": _now()}


def _entry(log: DisclosureLog, ident: str) -> StoredEntry:
    found = list(log.entries("entry_id = ?", (ident,)))
    if not found and ident.isdigit():
        found = list(log.entries("seq = ?", (int(ident),)))
    if not found:
        raise click.ClickException(f"no entry {ident}")
    return found[0]


def _ig_decision(
    what: str, choice: str, values: tuple[str, ...], why: str
) -> Callable[[Callable[..., None]], click.Command]:
    """The options every IG decision has: one subject argument, its kind, the reason in words
    and the named person who decided (all recorded)."""

    def wrap(fn: Callable[..., None]) -> click.Command:
        for option in (
            friendly_errors,
            click.option("--by", "decided_by", required=True, help="Who decided (recorded)."),
            click.option("--reason", required=True, help="The reason in words (recorded)."),
            click.option(f"--{choice}", required=True, type=click.Choice(values), help=why),
            click.argument(what),
        ):
            fn = option(fn)
        return click.command()(fn)

    return wrap


async def _notify(record: dict[str, Any], disclosed_at: datetime) -> tuple[list[str], list[str]]:
    """Send the correction's notices as the auditor: (readers told, readers with no topic)."""
    me = principal(PRINCIPAL)
    notice = correction_notice(record, disclosed_at)
    async with asyncio.timeout(NOTIFY_TIMEOUT_S), KafkaPublisher(me.kafka) as publisher:
        return await send_notices(
            notice,
            record["recipients"] or [],
            Sealer(me.ring),
            me.topology,
            publisher,
            _product_readers(),
        )


def _product_readers() -> dict[str, str]:
    """The policy's recipients of products and the principal that reads each."""
    return {name: r.principal for name, r in load_policy().recipients.items()}


@_ig_decision("entry", "kind", CORRECTION_KINDS, "What was wrong.")
@click.option(
    "--notify/--no-notify",
    default=True,
    show_default=True,
    help="Send each recipient a sealed correction notice (mash.corrections.<recipient>).",
)
def correct(entry: str, kind: str, reason: str, decided_by: str, notify: bool) -> None:
    """Record that the disclosure in ENTRY (sequence number or entry id) was wrong, and tell
    the recipients.

    The correction is appended (the original stays, as the log is append-only) with the
    recipients who received it, and each is sent a correction notice sealed to it alone, which
    marks the item in its packages or products (UK GDPR Art 19). The same correction recorded
    twice adds one entry, and its notices are the same messages again (run it again after a
    failed send).
    """
    log = open_log()
    try:
        original = _entry(log, entry)
        try:
            record = correction_entry(original.body, kind=kind, reason=reason, **_who(decided_by))
        except GovernanceRefused as exc:
            raise click.ClickException(str(exc)) from exc
        added = log.append([record])
        seq = _entry(log, record["entry_id"]).seq
    finally:
        log.close()
    click.echo(
        f"correction {'recorded' if added else 'already recorded'}: entry {seq} corrects "
        f"{original.seq} ({kind})"
    )
    recipients = record["recipients"] or []
    if not recipients:
        click.echo("tell: no recipient was recorded")
    elif not notify:
        told = readers(recipients, _product_readers())
        click.echo(f"tell: {', '.join(told)} (no notice sent: --no-notify)")
    else:
        try:
            told, untold = asyncio.run(_notify(record, datetime.fromisoformat(original.body["at"])))
        except (KafkaError, BrokerError, OSError, TimeoutError, KeysUnavailable) as exc:
            raise click.ClickException(
                f"the correction is recorded (entry {seq}) but its notices were not sent "
                f"({type(exc).__name__}: {exc}); run the same command again to send them"
            ) from exc
        if told:
            click.echo(f"told: {', '.join(told)} (a sealed correction notice each)")
        if untold:
            click.echo(f"tell another way: {', '.join(untold)} (no correction topic)")
    if record["personal_data_breach"]:
        click.echo(
            "information about the wrong person was disclosed: a personal data breach; assess it "
            "now (reportable breaches go to the ICO within 72 hours)"
        )


def _retention(
    log: DisclosureLog, stores: HubStores, referral_id: str | None = None
) -> list[ReferralRetention]:
    where = ("correlation_id = ?", (referral_id,)) if referral_id else ("", ())
    entries = [e.body for e in log.entries(*where)]
    referrals = {e["correlation_id"] for e in entries}
    dobs = {r: child_dobs(found) for r in referrals if (found := stores.referral(r))}
    return retention_of(entries, dobs)


def _day(value: str | None) -> date:
    if value is None:
        return _now().date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _erase(
    log: DisclosureLog,
    stores: HubStores,
    referral_id: str,
    *,
    ground: str,
    reason: str,
    by: str,
    ends: date | None,
) -> str:
    """Erase one referral from the stores and log it; what happened, in one line."""
    if stores.is_open(referral_id):
        raise GovernanceRefused(
            f"{referral_id} is still open (awaiting its package or chasers); it cannot be erased"
        )
    held = stores.referral(referral_id) is not None
    entries = [e.body for e in log.entries("correlation_id = ?", (referral_id,))]
    record = erasure_entry(
        entries,
        ground=ground,
        reason=reason,
        **_who(by),
        erased={},
        retention_ends=ends.isoformat() if ends else None,
    )  # refusals come before anything is removed
    erased = stores.erase(referral_id)
    if not erased and not held:
        earlier = [e for e in entries if e["operation"] == "erase"]
        if earlier:
            return f"{referral_id}: already erased ({earlier[-1]['at'][:10]}); nothing recorded"
        return f"{referral_id}: nothing of it is held on this host; nothing recorded"
    record["erased"] = dict(sorted(erased.items()))
    log.append([record])
    rows = sum(erased.values())
    return f"{referral_id}: erased {rows} rows ({', '.join(sorted(erased))}); logged {ground}"


def _resolve(log: DisclosureLog, prefix: str) -> str:
    rows = log.entries("correlation_id LIKE ?", (prefix + "%",))
    found: set[str] = {e.body["correlation_id"] for e in rows}
    if len(found) != 1:
        raise click.ClickException(
            f"no referral {prefix} in the log" if not found else f"{prefix} names several referrals"
        )
    return found.pop()


@click.command()
@click.option("--at", "as_at", help="Judge as at this date (YYYY-MM-DD; default today).")
@click.option("--due", "due_only", is_flag=True, help="Only referrals whose retention has ended.")
@click.option(
    "--erase", "erase_due", is_flag=True, help="Erase those due (as at today); list nothing else."
)
@click.option("--by", "decided_by", help="With --erase: the person who decided (recorded).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per referral.")
@friendly_errors
def retention(
    as_at: str | None, due_only: bool, erase_due: bool, decided_by: str | None, as_json: bool
) -> None:
    """Each referral's retention: its classes, last logged activity, when retention ends (the
    longest of its classes; children's dates of birth from the hub's stores) and whether it is
    held, due for erasure, kept (a class this release cannot compute) or erased."""
    if erase_due and (as_at or not decided_by):
        raise click.UsageError("--erase judges as at today and needs --by")
    today = _day(as_at)
    log = open_log()
    stores = HubStores.open(ServiceSettings())
    try:
        for r in _retention(log, stores):
            due = r.due(today)
            if (due_only or erase_due) and not due:
                continue
            if erase_due and due:
                try:
                    click.echo(
                        _erase(
                            log,
                            stores,
                            r.referral_id,
                            ground="retention-ended",
                            reason=f"retention ({', '.join(r.classes)}) ended {r.ends}",
                            by=decided_by or "",
                            ends=r.ends,
                        )
                    )
                except GovernanceRefused as exc:
                    click.echo(f"{r.referral_id}: not erased: {exc}", err=True)
                continue
            state = "due" if due else r.state
            if as_json:
                ends = r.ends.isoformat() if r.ends else None
                click.echo(
                    json.dumps(
                        {
                            "referral_id": r.referral_id,
                            "state": state,
                            "ends": ends,
                            "last_activity": r.last_activity.isoformat(),
                            "classes": list(r.classes),
                        }
                    )
                )
            else:
                click.echo(
                    f"{r.referral_id}  {state:6} ends {r.ends or '-'!s:10}  "
                    f"last {r.last_activity}  {','.join(r.classes)}"
                )
    finally:
        stores.close()
        log.close()


@_ig_decision("referral", "ground", ERASURE_GROUNDS, "Why it is erased.")
def erase(referral: str, ground: str, reason: str, decided_by: str) -> None:
    """Erase REFERRAL (id or unique prefix) from every store of the hub on this host — the
    firewall's and collator's state, the duty manager's, front door's and teams' inboxes — and
    record it in the disclosure log (which keeps its pseudonymised entries).

    An open case is refused; `retention-ended` is refused before retention has ended.
    """
    log = open_log()
    stores = HubStores.open(ServiceSettings())
    try:
        referral_id = _resolve(log, referral)
        found = _retention(log, stores, referral_id)
        ends = found[0].ends if found else None
        ended = found and (found[0].erased or found[0].due(_now().date()))
        if ground == "retention-ended" and not ended:
            raise click.ClickException(
                f"{referral_id}: retention has not ended"
                + (f" (it runs until {ends})" if ends else " (its class cannot be computed)")
            )
        try:
            message = _erase(
                log, stores, referral_id, ground=ground, reason=reason, by=decided_by, ends=ends
            )
        except GovernanceRefused as exc:
            raise click.ClickException(str(exc)) from exc
    finally:
        stores.close()
        log.close()
    click.echo(message)

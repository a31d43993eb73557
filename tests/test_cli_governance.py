"""IG's corrections, retention review and erasure through `mash audit`, over the stores the
services really keep (firewall and collator state, the duty manager's inbox) and a signed log."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hub.cli import cli
from hub.collator.handler import CollatorHandler
from hub.collator.state import CollatorState
from hub.disclosure_log import DisclosureLog, sign_checkpoint
from hub.dutymanager import Inbox
from hub.firewall.state import FirewallState
from hub.keys import KeyRing
from hub.keys.local import local_key_store
from hub.samples import Samples
from hub.statedb import PostgresState, StateWhere, schema_for

OLD = datetime(2004, 3, 1, 10, 0, tzinfo=UTC)  # a Level 2 case whose children are now over 25
NEW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Level 3 case about a young child
S17 = "s17-until-25th-birthday-of-youngest-child"
S47 = "s47-until-25th-birthday-of-youngest-child"


def _stores(home: Path) -> tuple[StateWhere, StateWhere, Path]:
    """Where the firewall's and collator's state and the log are, as the services configure
    them (PostgreSQL schemas of the namespace when MASH_STATE_URL is set)."""
    ns = os.environ.get("MASH_NAMESPACE", "")
    folder = (lambda s: f"{ns}.{s}") if ns else (lambda s: s)
    log = home / "state" / folder("firewall") / "disclosure-log.db"
    if url := os.environ.get("MASH_STATE_URL"):
        fw = PostgresState(url, schema_for(folder("firewall")))
        return fw, PostgresState(url, schema_for(folder("collator"))), log
    return (
        home / "state" / "firewall" / "referrals.db",
        home / "state" / "collator" / "cases.db",
        log,
    )


def _referral_through_the_hub(home: Path, at: datetime, born: date, level: str) -> str:
    """A referral as the services leave it: the firewall's state, the collator's closed case
    with its package, and the package in the duty manager's inbox."""
    opened = Samples().case_opened()
    referral = opened["referral"]
    referral.update(level=level, referral_id=str(uuid.uuid4()))
    for subject in referral["subjects"]:
        if subject["role"] in ("CHILD", "SIBLING"):
            subject["date_of_birth"] = born
    request = {"request_id": "req-p", "agency": "POLICE", "issued_at": at, "deadline": at}
    opened.update(deadline=at + timedelta(hours=24), opened_at=at, requests=[request])
    fw, co, _ = _stores(home)
    firewall = FirewallState(fw)
    firewall.save(referral, {"level": level})
    firewall.close()
    collator = CollatorHandler(CollatorState(co), clock=lambda: at)
    assert collator.on_case(opened) == []
    finding = Samples().disclosed_information()
    finding.update(referral_id=referral["referral_id"], agency="POLICE", disclosure_id=f"d-{at}")
    [out] = collator.on_finding(finding)  # every agency answered: the package
    collator.close()
    inbox = Inbox(home / "state" / "dutymanager" / "inbox.db")
    inbox.add("mash.InformationPackage", out.record)
    inbox.close()
    return str(referral["referral_id"])


def _log_entries(referral_id: str, at: datetime, cls: str) -> list[dict]:
    return [
        {
            "entry_id": f"{referral_id}-{i}",
            "correlation_id": referral_id,
            "at": (at + timedelta(minutes=i)).isoformat(),
            "operation": "withhold" if i else "disclose",
            "decision": "WITHHELD" if i else "RELEASED",
            "agency": "POLICE",
            "level": "LEVEL_2",
            "data_category": "police.intelligence",
            "recipients": ["collator", "dutymanager"],
            "subject_pseudonyms": [f"ps:{referral_id[:6]}"],
            "retention_class": cls,
        }
        for i in range(2)
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> dict[str, str]:
    """A run folder holding an old referral (retention ended) and a recent one, both in the
    stores (SQLite files, or the services' PostgreSQL schemas) and in a signed disclosure log;
    the auditor's and firewall's keys."""
    monkeypatch.setenv("MASH_HOME", str(tmp_path))
    monkeypatch.delenv("MASH_NAMESPACE", raising=False)
    monkeypatch.delenv("MASH_STATE_URL", raising=False)
    monkeypatch.delenv("MASH_LOG_URL", raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("MASH_STATE_URL", request.getfixturevalue("postgres_url"))
        monkeypatch.setenv("MASH_NAMESPACE", f"t{uuid.uuid4().hex[:12]}")
    store = local_key_store(tmp_path)
    store.init(["firewall", "auditor"])
    old = _referral_through_the_hub(tmp_path, OLD, date(1996, 5, 1), "LEVEL_2")
    new = _referral_through_the_hub(tmp_path, NEW, date(2020, 5, 1), "LEVEL_3")
    log = DisclosureLog(_stores(tmp_path)[2])
    log.append(_log_entries(old, OLD, S17) + _log_entries(new, NEW, S47))
    size, root, chain = log.root()
    signing = KeyRing.load(store, "firewall").signing_key
    log.add_checkpoint(sign_checkpoint("mash-exchange/disclosure-log", size, root, chain, signing))
    log.close()
    return {"old": old, "new": new, "home": str(tmp_path)}


def _mash(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _held(home: str, referral_id: str) -> dict[str, bool]:
    """Whether each store still holds the referral."""
    fw, co, _ = _stores(Path(home))
    firewall, collator = FirewallState(fw), CollatorState(co)
    inbox = Inbox(Path(home) / "state" / "dutymanager" / "inbox.db")
    held = {
        "firewall": firewall.referral(referral_id) is not None,
        "collator": collator.case(referral_id) is not None,
        "findings": bool(collator.findings(referral_id)),
        "inbox": bool(inbox.packages(referral_id)),
    }
    for s in (firewall, collator, inbox):
        s.close()
    return {k: v for k, v in held.items() if k != "findings" or v}


def _entries(home: str, operation: str) -> list[dict]:
    log = DisclosureLog(_stores(Path(home))[2])
    found = [e.body for e in log.entries() if e.body["operation"] == operation]
    log.close()
    return found


def test_correct_records_once_names_the_recipients_and_keeps_the_log_verifiable(
    home: dict[str, str],
) -> None:
    """A wrong-person correction is appended (the original stays), names who to tell and the
    breach to assess; recorded again it adds nothing; the log still verifies."""
    args = ["audit", "correct", "1", "--kind", "wrong-person", "--reason", "DOB differs"]
    first = _mash(*args, "--by", "J. Patel (IG)", "--no-notify")
    assert first.exit_code == 0, first.output
    assert "entry 5 corrects 1 (wrong-person)" in first.output
    assert "tell: dutymanager (no notice sent" in first.output  # the collator's packages' reader
    assert "personal data breach" in first.output
    again = _mash(*args, "--by", "J. Patel (IG)")  # no broker here: recorded, not sent
    assert again.exit_code == 1 and "already recorded" in again.output
    assert "the correction is recorded (entry 5) but its notices were not sent" in again.output
    [entry] = _entries(home["home"], "correct")
    assert (
        entry["corrects"] == f"{home['old']}-0" and entry["actor"]["decided_by"] == "J. Patel (IG)"
    )
    assert entry["actor"]["key_id"]  # the auditor's key
    listed = _mash("audit", "list", "--decision", "correct").output.splitlines()
    assert len(listed) == 1 and "correct" in listed[0]
    assert _mash("audit", "verify").exit_code == 0
    summary = _mash("audit", "summary").output.splitlines()
    assert summary[-1] == "IG corrections: 1, referrals erased: 0"


def test_correcting_a_withholding_is_refused(home: dict[str, str]) -> None:
    """Nothing was disclosed by a withheld entry: exit 1, nothing appended."""
    refused = _mash("audit", "correct", "2", "--kind", "inaccurate", "--reason", "x", "--by", "J")
    assert refused.exit_code == 1 and "disclosed nothing (WITHHELD)" in refused.output
    assert _entries(home["home"], "correct") == []


def test_retention_reports_due_and_held_from_the_childrens_birthdays(home: dict[str, str]) -> None:
    """The old referral's children turned 25 in 2021: due; the recent one runs to 2045."""
    rows = {
        r["referral_id"]: r
        for r in map(json.loads, _mash("audit", "retention", "--json").output.splitlines())
    }
    assert rows[home["old"]]["state"] == "due" and rows[home["old"]]["ends"] == "2021-05-01"
    assert rows[home["new"]]["state"] == "held" and rows[home["new"]]["ends"] == "2045-05-01"
    due = _mash("audit", "retention", "--due").output.splitlines()
    assert len(due) == 1 and due[0].startswith(f"{home['old']}  due    ends 2021-05-01")
    later = _mash("audit", "retention", "--due", "--at", "2045-05-01").output
    assert home["new"] in later


def test_erase_removes_the_referral_from_every_store_and_logs_it(home: dict[str, str]) -> None:
    """Erasing after retention empties the firewall's and collator's state and the inbox (which
    then takes nothing about it in again), appends one erase entry (still verifiable), and a
    second run adds none."""
    assert all(_held(home["home"], home["old"]).values())
    inbox = Inbox(Path(home["home"]) / "state" / "dutymanager" / "inbox.db")
    [package] = inbox.packages(home["old"])
    inbox.close()
    done = _mash(
        "audit", "erase", home["old"][:8], "--ground", "retention-ended",
        "--reason", "retention schedule", "--by", "J. Patel (IG)",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert not any(_held(home["home"], home["old"]).values())
    assert all(_held(home["home"], home["new"]).values())  # the other referral is untouched
    [entry] = _entries(home["home"], "erase")
    assert entry["correlation_id"] == home["old"] and entry["ground"] == "retention-ended"
    assert entry["erased"]["collator.cases"] == 1 and entry["erased"]["firewall.referrals"] == 1
    assert entry["erased"]["dutymanager/inbox.packages"] == 1
    assert entry["subject_pseudonyms"] == [f"ps:{home['old'][:6]}"]
    inbox = Inbox(Path(home["home"]) / "state" / "dutymanager" / "inbox.db")
    inbox.add("mash.InformationPackage", package)  # still on its topic, fetched late
    assert inbox.packages(home["old"]) == []
    inbox.close()
    assert _mash("audit", "verify").exit_code == 0
    again = _mash(
        "audit", "erase", home["old"], "--ground", "retention-ended", "--reason", "x", "--by", "J"
    )
    assert again.exit_code == 0 and "already erased" in again.output
    assert len(_entries(home["home"], "erase")) == 1
    rows = _mash("audit", "retention", "--json").output.splitlines()
    assert {"referral_id": home["old"], "state": "erased"}.items() <= json.loads(rows[0]).items()


def test_erase_before_retention_ends_is_refused_unless_on_another_ground(
    home: dict[str, str],
) -> None:
    """`retention-ended` on a referral still within retention is refused and removes nothing;
    a court order is recorded with its ground."""
    early = _mash(
        "audit", "erase", home["new"], "--ground", "retention-ended", "--reason", "x", "--by", "J"
    )
    assert early.exit_code == 1 and "it runs until 2045-05-01" in early.output
    assert all(_held(home["home"], home["new"]).values())
    ordered = _mash(
        "audit", "erase", home["new"], "--ground", "court-order",
        "--reason", "order of 20 Nov", "--by", "J. Patel (IG)",
    )  # fmt: skip
    assert ordered.exit_code == 0, ordered.output
    assert not any(_held(home["home"], home["new"]).values())
    assert _entries(home["home"], "erase")[0]["ground"] == "court-order"


def test_an_open_case_is_never_erased(home: dict[str, str]) -> None:
    """While the collator still awaits a referral's package, erasure is refused on any ground."""
    opened = Samples().case_opened()
    opened["referral"].update(level="LEVEL_2", referral_id=str(uuid.uuid4()))
    opened.update(deadline=NEW + timedelta(hours=24), opened_at=NEW)
    _, co, log_path = _stores(Path(home["home"]))
    state = CollatorState(co)
    handler = CollatorHandler(state, clock=lambda: NEW)
    assert handler.on_case(opened) == []  # waits for its agencies
    handler.close()
    rid = opened["referral"]["referral_id"]
    log = DisclosureLog(log_path)
    log.append(_log_entries(rid, NEW, S17))
    log.close()
    refused = _mash("audit", "erase", rid, "--ground", "court-order", "--reason", "x", "--by", "J")
    assert refused.exit_code == 1 and "still open" in refused.output
    assert _entries(home["home"], "erase") == []


def test_retention_erase_erases_only_what_is_due(home: dict[str, str]) -> None:
    """The scheduled sweep erases the referral whose retention ended and keeps the other."""
    swept = _mash("audit", "retention", "--erase", "--by", "retention job (IG)")
    assert swept.exit_code == 0, swept.output
    assert f"{home['old']}: erased" in swept.output and home["new"] not in swept.output
    assert not any(_held(home["home"], home["old"]).values())
    assert all(_held(home["home"], home["new"]).values())
    refused = _mash("audit", "retention", "--erase")
    assert refused.exit_code == 2 and "needs --by" in refused.output

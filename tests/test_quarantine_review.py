"""Information governance's review of the quarantine: records open however old they are, the
filters and summary count what IG asks about, and a refused message is described, never shown."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.envelope import Opener, Sealer
from hub.envelope.archive import ArchiveOpener
from hub.errors import MessageRejected, RejectReason
from hub.keys import KeyRing, KeyStore
from hub.keys.local import local_key_store
from hub.quarantine import Inbox
from hub.quarantine_review import claims, counts, details, find, line, matching, open_all
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.transport.base import Consumed
from hub.transport.memory import MemoryBroker
from tests.forge import parse, resign

QUARANTINE = "mash.quarantine"
RESPONSES = "mash.responses.police"
KEYS_MADE = datetime(2026, 10, 1, tzinfo=UTC)  # keys valid since before the oldest record
MONTH_AGO = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
LAST_WEEK = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)


def _forged_response(rings: dict[str, KeyRing]) -> bytes:
    """A police response re-signed by the collator's key while still naming police's."""
    record = Samples(seed=5).agency_response("POLICE")
    sealer = Sealer(rings["police"], clock=lambda: LAST_WEEK)
    data, _ = sealer.seal(
        topic=RESPONSES,
        schema_name="mash.AgencyResponse",
        record=record,
        recipients=["firewall"],
        correlation_id=record["referral_id"],
    )
    return resign(sealer.envelopes, parse(sealer.envelopes, data)[0], rings["collator"].signing_key)


async def _quarantine(
    rings: dict[str, KeyRing], refused: list[tuple[str, bytes, datetime]]
) -> list[Consumed]:
    """Run each (service, bytes, time) through that service's inbox, as refused at that time;
    the quarantine topic's records, stamped by the 'broker' with the same time."""
    broker = MemoryBroker(partitions=1)
    stamps = []
    for offset, (service, value, at) in enumerate(refused):
        inbox = Inbox(
            service=service,
            opener=Opener(rings[service], MemorySeenMessages(), clock=lambda at=at: at),
            sealer=Sealer(rings[service], clock=lambda at=at: at),
            publisher=broker,
            quarantine_topic=QUARANTINE,
            clock=lambda at=at: at,
        )
        await inbox.receive(Consumed(RESPONSES, 0, 40 + offset, b"ref-1", value))
        stamps.append(int(at.timestamp() * 1000))
    return [
        dataclasses.replace(m, timestamp_ms=stamp)
        for m, stamp in zip(broker.messages(QUARANTINE), stamps, strict=True)
    ]


@pytest.fixture
def rings(tmp_path: Path) -> dict[str, KeyRing]:
    """Rings of the firewall, the collator, police and the auditor."""
    store = KeyStore(
        tmp_path / "keys", lambda who: b"pass-" + who.encode(), clock=lambda: KEYS_MADE
    )
    store.init(["firewall", "collator", "police", "auditor"])
    return {p: KeyRing.load(store, p) for p in ("firewall", "collator", "police", "auditor")}


async def test_a_month_old_record_opens_for_review_though_past_its_time_to_live(
    rings: dict[str, KeyRing],
) -> None:
    """A record logged a month ago (its envelope lived 7 days) opens as at its logging time;
    the services' own opener, judging by today, refuses it."""
    [old] = await _quarantine(rings, [("firewall", b"junk", MONTH_AGO)])
    found, unreadable = open_all([old], ArchiveOpener(rings["auditor"]))
    assert unreadable == []
    assert found[0].record["reason"] == "MALFORMED"
    assert found[0].record["quarantined_at"] == MONTH_AGO
    with pytest.raises(MessageRejected) as refused:
        Opener(rings["auditor"], MemorySeenMessages()).open(old.value, topic=QUARANTINE)
    assert refused.value.reason is RejectReason.EXPIRED


async def test_a_record_the_auditor_cannot_open_is_reported_with_its_position(
    rings: dict[str, KeyRing],
) -> None:
    """A quarantine record not sealed to the auditor is listed as unreadable, not dropped."""
    [good] = await _quarantine(rings, [("firewall", b"junk", LAST_WEEK)])
    stray, _ = Sealer(rings["firewall"], clock=lambda: LAST_WEEK).seal(
        topic=QUARANTINE,
        schema_name="mash.Quarantined",
        record=ArchiveOpener(rings["auditor"])
        .open(good.value, topic=QUARANTINE, at=LAST_WEEK)
        .record,
        recipients=["collator"],
        correlation_id="x",
    )
    found, unreadable = open_all(
        [good, dataclasses.replace(good, offset=7, value=stray)],
        ArchiveOpener(rings["auditor"]),
    )
    assert len(found) == 1
    assert [(u.offset, u.reason) for u in unreadable] == [(7, "NOT_A_RECIPIENT")]


async def test_filters_and_counts_by_service_reason_and_time(rings: dict[str, KeyRing]) -> None:
    """Reason, service and a time range pick records; counts are per service and reason."""
    forged = _forged_response(rings)
    messages = await _quarantine(
        rings,
        [
            ("firewall", b"junk", MONTH_AGO),
            ("firewall", forged, LAST_WEEK),
            ("collator", b"more junk", LAST_WEEK + timedelta(hours=1)),
        ],
    )
    found, _ = open_all(messages, ArchiveOpener(rings["auditor"]))
    assert [q.record["reason"] for q in matching(found, service="firewall")] == [
        "MALFORMED",
        "BAD_SIGNATURE",
    ]
    assert [q.record["service"] for q in matching(found, reason="malformed")] == [
        "firewall",
        "collator",
    ]
    assert len(matching(found, since=LAST_WEEK)) == 2
    assert len(matching(found, until=LAST_WEEK)) == 1
    assert counts(found) == {
        ("firewall", "MALFORMED"): 1,
        ("firewall", "BAD_SIGNATURE"): 1,
        ("collator", "MALFORMED"): 1,
    }
    first = found[0]
    assert find(found, first.quarantine_id[:8]) == first
    assert find(found, "") is None  # matches all three: not one
    assert "MALFORMED" in line(first) and f"{RESPONSES}[0]@40" in line(first)


async def test_a_refused_envelope_is_described_by_its_claims_never_its_content(
    rings: dict[str, KeyRing],
) -> None:
    """`show` gives the size, hash and the header's (unverified) claims; junk gives size and
    hash alone; no byte of either is printed."""
    junk = b"Ava Smith 2019-03-04 NHS 943 476 5919"
    sealed = _forged_response(rings)
    messages = await _quarantine(
        rings, [("firewall", junk, LAST_WEEK), ("firewall", sealed, LAST_WEEK)]
    )
    found, _ = open_all(messages, ArchiveOpener(rings["auditor"]))
    opener = ArchiveOpener(rings["auditor"])
    about_junk = details(found[0], opener.envelopes)
    assert about_junk["sealed"]["bytes"] == len(junk)
    assert "does not parse" in about_junk["sealed"]["envelope"]
    assert "Ava" not in json.dumps(about_junk)
    about = claims(sealed, opener.envelopes)
    assert about["envelope_claims"]["sender"] == "police"  # claimed; the signature is not
    assert about["envelope_claims"]["schema_name"] == "mash.AgencyResponse"
    assert about["envelope_claims"]["topic"] == RESPONSES
    assert details(found[1], opener.envelopes)["source"] == {
        "topic": RESPONSES,
        "partition": 0,
        "offset": 41,
    }


async def test_a_review_that_needs_no_bytes_keeps_their_description_only(
    rings: dict[str, KeyRing],
) -> None:
    """Records not chosen to keep their refused bytes drop them, keeping the same description
    (size, hash, claims), so a topic kept for good is reviewed in bounded memory."""
    sealed = _forged_response(rings)
    messages = await _quarantine(
        rings, [("firewall", b"junk" * 1000, LAST_WEEK), ("firewall", sealed, LAST_WEEK)]
    )
    opener = ArchiveOpener(rings["auditor"])
    full, _ = open_all(messages, opener)
    light, _ = open_all(messages, opener, keep_sealed=lambda record: False)
    assert [q.record["sealed"] for q in light] == [b"", b""]
    assert [details(q, opener.envelopes) for q in light] == [
        details(q, opener.envelopes) for q in full
    ]
    wanted = full[1].quarantine_id
    some, _ = open_all(messages, opener, keep_sealed=lambda r: r["quarantine_id"] == wanted)
    assert [bool(q.record["sealed"]) for q in some] == [False, True]


@pytest.fixture
def auditor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, KeyRing]:
    """A run folder with the auditor's and firewall's keys; the cluster named by environment."""
    monkeypatch.setenv("MASH_HOME", str(tmp_path))
    monkeypatch.delenv("MASH_NAMESPACE", raising=False)
    monkeypatch.setenv("MASH_KAFKA_BOOTSTRAP_SERVERS", "localhost:1")
    monkeypatch.setenv("MASH_KAFKA_USERNAME", "auditor")
    monkeypatch.setenv("MASH_KAFKA_PASSWORD", "not-used")
    store = local_key_store(tmp_path)
    store.clock = lambda: KEYS_MADE
    store.init(["auditor", "firewall", "collator"])
    return {p: KeyRing.load(store, p) for p in ("auditor", "firewall", "collator")}


def _reading(monkeypatch: pytest.MonkeyPatch, messages: list[Consumed]) -> None:
    """The CLI reads ``messages`` from the quarantine topic, one fetch per record."""

    async def stream(settings: Any, topic: str) -> AsyncIterator[list[Consumed]]:
        assert topic == QUARANTINE and settings.username == "auditor"
        for message in messages:
            yield [message]

    monkeypatch.setattr(importlib.import_module("hub.cli.audit"), "stream_to_end", stream)


def test_cli_lists_shows_saves_and_summarises(
    auditor_home: dict[str, KeyRing], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`mash audit quarantine list|show|summary` as IG uses them, and --save keeps the bytes."""
    messages = asyncio.run(
        _quarantine(
            auditor_home, [("firewall", b"junk-1", MONTH_AGO), ("collator", b"junk-2", LAST_WEEK)]
        )
    )
    _reading(monkeypatch, messages)
    runner = CliRunner()
    listed = runner.invoke(cli, ["audit", "quarantine", "list", "--service", "collator"])
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.splitlines()) == 1 and "collator" in listed.output
    as_json = runner.invoke(cli, ["audit", "quarantine", "list", "--json", "--since", "2026-11"])
    assert as_json.exit_code == 2  # not an ISO date: a usage error, not a traceback
    as_json = runner.invoke(cli, ["audit", "quarantine", "list", "--json", "--until", "2026-11-01"])
    [record] = [json.loads(x) for x in as_json.output.splitlines()]
    assert record["service"] == "firewall" and record["reason"] == "MALFORMED"
    saved = tmp_path / "refused.bin"
    shown = runner.invoke(
        cli, ["audit", "quarantine", "show", record["quarantine_id"][:10], "--save", str(saved)]
    )
    assert shown.exit_code == 0, shown.output
    assert saved.read_bytes() == b"junk-1"
    summary = runner.invoke(cli, ["audit", "quarantine", "summary"])
    assert summary.exit_code == 0
    assert summary.output.split() == [
        "collator",
        "MALFORMED",
        "1",
        "firewall",
        "MALFORMED",
        "1",
        "total",
        "2",
    ]
    missing = runner.invoke(cli, ["audit", "quarantine", "show", "nope"])
    assert missing.exit_code == 1 and "no single quarantine record nope" in missing.output


def test_cli_exits_1_and_names_a_record_it_cannot_open(
    auditor_home: dict[str, KeyRing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged record on the quarantine topic makes summary exit 1, naming its position."""
    [record] = asyncio.run(_quarantine(auditor_home, [("firewall", b"junk", LAST_WEEK)]))
    damaged = dataclasses.replace(record, offset=3, value=record.value[:-5])
    _reading(monkeypatch, [record, damaged])
    result = CliRunner().invoke(cli, ["audit", "quarantine", "summary"])
    assert result.exit_code == 1
    assert "partition 0 offset 3: MALFORMED" in result.output
    assert "total" in result.output

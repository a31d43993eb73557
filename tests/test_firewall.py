"""The firewall handler (no broker): a redelivered message yields the same outputs and no
duplicate log entries; only the right senders are heard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.disclosure_log import DisclosureLog
from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected
from hub.firewall import handler as handler_module
from hub.firewall.handler import FirewallHandler
from hub.firewall.state import FirewallState
from hub.policy.model import load_policy
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.transport.base import Consumed
from tests.conftest import Where
from tests.keyring import TestKeys


def _handler(tmp_path: Path, keys: TestKeys, where: Where | None = None) -> FirewallHandler:
    return FirewallHandler(
        policy=load_policy(),
        state=FirewallState(where("s.db") if where else tmp_path / "s.db"),
        log_store=DisclosureLog(tmp_path / "log.db"),
        ring=keys.ring("firewall"),
        pseudonym_key=b"k",
    )


def _opened(keys: TestKeys, sender: str, schema: str, record: dict, topic: str):  # type: ignore[no-untyped-def]
    data, _ = Sealer(keys.ring(sender)).seal(
        topic=topic, schema_name=schema, record=record, recipients=["firewall"], correlation_id="c"
    )
    opened = Opener(keys.ring("firewall"), MemorySeenMessages()).open(
        data, topic=topic, remember=False
    )
    return opened, Consumed(topic, 0, 0, None, data)


def test_redelivered_referral_and_response_are_idempotent(
    tmp_path: Path, keys: TestKeys, where: Where
) -> None:
    """The same referral and response processed twice: same outputs, log entries once."""
    handler = _handler(tmp_path, keys, where)
    referral = Samples().referral("LEVEL_3")
    opened, message = _opened(keys, "intake", "mash.Referral", referral, "mash.referrals")
    first = asyncio.run(handler.handle(opened, message))
    size = handler.log.size()
    again = asyncio.run(handler.handle(opened, message))
    assert [o.topic for o in first] == [o.topic for o in again]
    assert {o.topic for o in first} >= {
        "mash.requests.police",
        "mash.notifications",
        "mash.disclosures",
    }
    assert handler.log.size() == size
    response = Samples().agency_response("POLICE")
    response["referral_id"] = referral["referral_id"]
    for finding, subject in zip(response["subjects"], referral["subjects"], strict=False):
        finding["subject_id"] = subject["subject_id"]
    opened, message = _opened(
        keys, "police", "mash.AgencyResponse", response, "mash.responses.police"
    )
    out1 = asyncio.run(handler.handle(opened, message))
    size = handler.log.size()
    out2 = asyncio.run(handler.handle(opened, message))
    assert out1[0].record["disclosure_id"] == out2[0].record["disclosure_id"]
    assert handler.log.size() == size
    handler.close()


def test_agency_may_not_answer_for_another(tmp_path: Path, keys: TestKeys) -> None:
    """Health cannot put a 'police' response on its topic; intake alone sends referrals."""
    handler = _handler(tmp_path, keys)
    response = Samples().agency_response("POLICE")
    opened, message = _opened(
        keys, "health", "mash.AgencyResponse", response, "mash.responses.health"
    )
    with pytest.raises(MessageRejected, match="only answer for itself"):
        asyncio.run(handler.handle(opened, message))
    opened, message = _opened(
        keys, "police", "mash.Referral", Samples().referral(), "mash.referrals"
    )
    with pytest.raises(
        MessageRejected, match="from the front door, or from an agency on its own topic"
    ):
        asyncio.run(handler.handle(opened, message))


def test_state_keeps_a_referral_whose_first_write_was_rolled_back(where: Where) -> None:
    """A response's state-only update never vanishes: if the referral's row went with a
    rolled-back batch, the referral is written whole again."""
    state = FirewallState(where("s.db"))
    referral = Samples().referral("LEVEL_2")
    with pytest.raises(RuntimeError), state.transaction():
        state.save(referral, {"level": "LEVEL_2"})
        raise RuntimeError("the batch was never sent")
    assert state.referral(referral["referral_id"]) is None
    state.save(referral, {"level": "LEVEL_2", "answered": ["POLICE"]})  # the same object
    other = FirewallState(where("s.db"))
    found = other.referral(referral["referral_id"])
    assert found is not None and found[0] == referral and found[1]["answered"] == ["POLICE"]
    state.close()
    other.close()


def test_entry_ids_are_deterministic_and_grouped_by_message() -> None:
    """A redelivered message yields the same entry ids; one message's entries share the first
    half of their id (adjacent in the log's index); every id is a distinct version-8 UUID."""
    import uuid

    from hub.firewall.entries import entry_id

    first = [entry_id("message-1", i) for i in range(12)]
    assert first == [entry_id("message-1", i) for i in range(12)]
    assert len(set(first)) == 12 and len({i[:18] for i in first}) == 1
    other = entry_id("message-2", 0)
    assert other[:18] != first[0][:18] and other not in first
    assert {uuid.UUID(i).version for i in [*first, other]} == {8}


def test_referral_and_response_are_kept_as_received(
    tmp_path: Path, keys: TestKeys, where: Where
) -> None:
    """The state keeps the very Avro frames that arrived (not a re-encoding), and another
    reader decodes them to the records the firewall acted on."""
    handler = _handler(tmp_path, keys, where)
    referral = Samples().referral("LEVEL_2")
    opened, message = _opened(keys, "intake", "mash.Referral", referral, "mash.referrals")
    assert opened.encoded == (opened.payload, opened.header.schema_sha256)
    asyncio.run(handler.handle(opened, message))
    response = Samples().agency_response("HEALTH")
    response["referral_id"] = referral["referral_id"]
    answered, message = _opened(
        keys, "health", "mash.AgencyResponse", response, "mash.responses.health"
    )
    asyncio.run(handler.handle(answered, message))
    handler.flush()
    db = handler.state._db
    kept = db.execute("SELECT referral FROM referrals").fetchone()[0]
    assert bytes(kept) == opened.payload
    kept = db.execute("SELECT record FROM responses").fetchone()[0]
    assert bytes(kept) == answered.payload
    other = FirewallState(where("s.db"))
    assert other.responses(referral["referral_id"]) == [answered.record]
    found = other.referral(referral["referral_id"])
    assert found is not None and found[0] == opened.record
    other.close()
    handler.close()


def test_child_pseudonyms_reuse_the_pseudonyms_already_made() -> None:
    """Pseudonyms made once per subject give the very list made from scratch; a subject the
    given ones miss is still pseudonymised."""
    from hub.contacts import child_pseudonyms
    from hub.disclosure_log.pseudonym import subject_pseudonyms

    referral = Samples().referral("LEVEL_2")
    key = b"test-key"
    fresh = child_pseudonyms(key, referral)
    known = {s["subject_id"]: subject_pseudonyms(key, s) for s in referral["subjects"]}
    assert fresh and child_pseudonyms(key, referral, known) == fresh
    child = next(s["subject_id"] for s in referral["subjects"] if s["role"] == "CHILD")
    assert child_pseudonyms(key, referral, {k: v for k, v in known.items() if k != child}) == fresh


def test_a_message_whose_handling_fails_leaves_no_trace_in_the_batch(
    tmp_path: Path, keys: TestKeys, where: Where, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handled in a group (as the runner does), a referral whose handling fails after its
    state was written leaves neither state nor log entries, while the batch's other
    messages commit; handled again, it opens its case."""
    handler = _handler(tmp_path, keys, where)
    handler.group_commit = True
    samples = Samples()
    kept, failing = samples.referral("LEVEL_2"), samples.referral("LEVEL_3")
    opened, message = _opened(keys, "intake", "mash.Referral", kept, "mash.referrals")
    asyncio.run(handler.handle(opened, message))
    pending = len(handler._pending)
    real = handler_module.request_outputs

    def broken(*args: object) -> object:
        raise RuntimeError("a bug after the state was written")

    monkeypatch.setattr(handler_module, "request_outputs", broken)
    bad, bad_message = _opened(keys, "intake", "mash.Referral", failing, "mash.referrals")
    with pytest.raises(RuntimeError):
        asyncio.run(handler.handle(bad, bad_message))
    assert len(handler._pending) == pending
    handler.flush()
    assert handler.state.referral(kept["referral_id"]) is not None
    assert handler.state.referral(failing["referral_id"]) is None
    logged = {e.body["correlation_id"] for e in handler.log.entries()}
    assert kept["referral_id"] in logged and failing["referral_id"] not in logged
    monkeypatch.setattr(handler_module, "request_outputs", real)
    outputs = asyncio.run(handler.handle(bad, bad_message))
    handler.flush()
    assert "mash.notifications" in {o.topic for o in outputs}
    assert handler.state.referral(failing["referral_id"]) is not None
    handler.close()


def test_a_failed_statement_does_not_spoil_the_batch(where: Where) -> None:
    """In a group, a message's statement that the database refuses is undone with that
    message alone (PostgreSQL would otherwise abort the whole transaction and drop every
    write of the batch at its commit)."""
    state = FirewallState(where("s.db"))
    state.begin_group()
    with state.message_scope():
        state.index_children("r-1", ["child-1"], "2026-11-24T09:00:00+00:00")
    with pytest.raises(Exception, match=r"(?i)not.null"), state.message_scope():
        state.index_children("r-2", ["child-1"], "2026-11-24T09:01:00+00:00")
        state._db.execute("INSERT INTO children (pseudonym) VALUES (?)", ("child-1",))
    with state.message_scope():
        state.index_children("r-3", ["child-1"], "2026-11-24T09:02:00+00:00")
    state.commit_group()
    other = FirewallState(where("s.db"))
    assert other.referrals_about(["child-1"], "2026-01-01") == ["r-3", "r-1"]
    state.close()
    other.close()


def test_a_new_referral_carries_the_earlier_ones_about_the_same_child(
    tmp_path: Path, keys: TestKeys, where: Where
) -> None:
    """A second referral about a child carries the first in its case (level, contacts, the
    decision on it) and the log records telling the MASH; a referral about another child, or
    after twelve months, carries none."""
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    handler = FirewallHandler(
        policy=load_policy(),
        state=FirewallState(where("s.db")),
        log_store=DisclosureLog(tmp_path / "log.db"),
        ring=keys.ring("firewall"),
        pseudonym_key=b"k",
        clock=lambda: now[0],
    )
    samples = Samples()

    def refer(record: dict) -> dict:
        opened = _opened(keys, "intake", "mash.Referral", record, "mash.referrals")
        outputs = asyncio.run(handler.handle(*opened))
        [case] = [o.record for o in outputs if o.schema_name == "mash.CaseOpened"]
        return case

    first = samples.referral("LEVEL_3")
    assert refer(first)["history"] == []
    decision = {
        **samples.case_decision(),
        "referral_id": first["referral_id"],
        "outcome": "S47_STRATEGY",
        "team": None,
    }
    decided = _opened(keys, "dutymanager", "mash.CaseDecision", decision, "mash.decisions")
    asyncio.run(handler.handle(*decided))
    now[0] += timedelta(days=40)
    second = {**samples.referral("LEVEL_2"), "subjects": first["subjects"]}
    [earlier] = refer(second)["history"]
    assert earlier == {
        "referral_id": first["referral_id"],
        "opened_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "level": "LEVEL_3",
        "outcome": "S47_STRATEGY",
        "contacts": 1,
    }
    [told] = [
        e.body
        for e in handler.log.entries()
        if e.body["correlation_id"] == second["referral_id"] and e.body.get("prior_referrals")
    ]
    assert told["prior_referrals"] == [first["referral_id"]] and told["recipients"] == ["collator"]
    assert told["data_category"] == "mash.history" and told["subject_pseudonyms"]
    assert refer(samples.referral("LEVEL_2"))["history"] == []  # another child
    now[0] += timedelta(days=340)  # the first is now over a year old, the second is not
    third = {**samples.referral("LEVEL_1"), "subjects": first["subjects"]}
    assert [h["referral_id"] for h in refer(third)["history"]] == [second["referral_id"]]
    handler.close()

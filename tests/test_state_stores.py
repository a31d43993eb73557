"""The services' state stores behave alike in SQLite and in PostgreSQL, where every instance of
a service shares one schema: replay protection, an adapter's state, the firewall's indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.adapter_state import AdapterState
from hub.firewall.state import FirewallState
from hub.replay import DurableSeenMessages, SeenAs
from hub.runtime.settings import ServiceSettings
from hub.samples import Samples
from hub.statedb import PostgresState, StateDB, schema_for
from tests.conftest import Where

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_replay_store_remembers_across_instances_and_prunes_expired(where: Where) -> None:
    """An id one instance remembered is seen by another on the same store; remembering it
    again is harmless; pruning forgets exactly the expired ids."""
    first, second = DurableSeenMessages(where("seen")), DurableSeenMessages(where("seen"))
    first.remember_many(
        [
            ("m-1", T0 + timedelta(days=7), "t:0:1", "d1"),
            ("m-2", T0 - timedelta(seconds=1), "", ""),
        ]
    )
    first.remember("m-1", T0 + timedelta(days=7), "t:0:9", "d9")  # the first record stays
    assert second.seen("m-1") and second.seen("m-2") and not second.seen("m-3")
    assert second.seen_as("m-1") == SeenAs("t:0:1", "d1")
    assert second.seen_as("m-2") == SeenAs("", "") and second.seen_as("m-3") is None
    assert second.prune(T0) == 1
    assert first.seen("m-1") and not first.seen("m-2")
    first.close()
    second.close()


def test_replay_store_made_before_positions_gains_the_column(where: Where) -> None:
    """A replay store written by an earlier version (no positions or digests) opens, keeps
    its ids, and records both from then on; two instances opening it at once both work."""
    old = StateDB(where("seen"), "replay store")
    old.script(
        "CREATE TABLE IF NOT EXISTS seen (message_id TEXT PRIMARY KEY, expires_at TEXT NOT NULL)"
    )
    old.execute("INSERT INTO seen VALUES (?, ?)", ("m-old", (T0 + timedelta(days=1)).isoformat()))
    old.close()
    first, second = DurableSeenMessages(where("seen")), DurableSeenMessages(where("seen"))
    assert first.seen("m-old") and first.seen_as("m-old") == SeenAs("", "")
    second.remember("m-new", T0 + timedelta(days=1), "t:3:4", "d")
    assert first.seen_as("m-new") == SeenAs("t:3:4", "d")
    first.close()
    second.close()


def test_adapter_state_keeps_outcomes_and_receipts_once(where: Where) -> None:
    """A concern's outcome is replaced by its latest; feedback is kept once, in order, and a
    reopened store reads it back."""
    state = AdapterState(where("adapter"))
    state.mark("PPN-1", None, "invalid", "no child named", T0)
    state.mark("PPN-1", "r-1", "raised", "", T0 + timedelta(minutes=1))
    state.mark("PPN-2", "r-2", "raised", "", T0 + timedelta(minutes=2))
    assert state.handled() == {"PPN-1", "PPN-2"}
    assert [(r["source_reference"], r["status"]) for r in state.raised()] == [
        ("PPN-1", "raised"),
        ("PPN-2", "raised"),
    ]
    first, second = Samples().feedback(), Samples(seed=8).feedback()
    assert state.receive("f-1", "mash.Feedback", first, T0)
    assert not state.receive("f-1", "mash.Feedback", first, T0)  # a redelivery
    assert state.receive("f-2", "mash.Feedback", second, T0)  # same time: arrival order
    state.close()
    again = AdapterState(where("adapter"))
    assert again.received("mash.Feedback") == [first, second]
    again.close()


def test_firewall_indexes_contacts_children_and_responses(where: Where) -> None:
    """A source reference maps to the first referral raised from it; children's pseudonyms
    find recent referrals newest first; responses come back in arrival order."""
    state = FirewallState(where("firewall"))
    state.add_source("POLICE", "PPN-9", "r-1")
    state.add_source("POLICE", "PPN-9", "r-2")  # the same incident again: the first stays
    assert state.referral_for_source("POLICE", "PPN-9") == "r-1"
    assert state.referral_for_source("POLICE", "PPN-0") is None
    state.index_children("r-old", ["p-a"], "2026-11-01T00:00:00+00:00")
    state.index_children("r-1", ["p-a", "p-b"], "2026-11-23T00:00:00+00:00")
    state.index_children("r-2", ["p-b"], "2026-11-24T00:00:00+00:00")
    state.index_children("r-2", ["p-b"], "2026-11-24T00:00:00+00:00")  # idempotent
    assert state.referrals_about(["p-a", "p-b"], "2026-11-20T00:00:00+00:00") == ["r-2", "r-1"]
    assert state.referrals_about([], "2026-11-20T00:00:00+00:00") == []
    answers = []
    for i, agency in enumerate(["HOUSING", "POLICE", "HEALTH"]):
        response = Samples(seed=i).agency_response(agency)
        response.update(referral_id="r-1", response_id=f"resp-{9 - i}")
        assert state.add_response(response)
        answers.append(response)
    assert not state.add_response(answers[0])
    other = FirewallState(where("firewall"))
    assert other.responses("r-1") == answers
    other.close()
    state.close()


def test_settings_put_each_service_in_its_own_schema(tmp_path: Path) -> None:
    """Without a state URL a store is a file in the service's folder; with one, a schema
    named for the service (and the authority's namespace) on that server."""
    local = ServiceSettings(home=tmp_path)
    assert local.state_store("firewall", "referrals.db") == (
        tmp_path / "state" / "firewall" / "referrals.db"
    )
    shared = ServiceSettings(
        home=tmp_path, namespace="la-042", state_url="postgresql://mash@db:5432/mash"
    )
    assert shared.state_store("adapter-police", "seen.db") == PostgresState(
        "postgresql://mash@db:5432/mash", "la_042_adapter_police"
    )
    assert schema_for("1st") == "s_1st"
    with pytest.raises(ValueError, match="postgres"):
        ServiceSettings(home=tmp_path, state_url="mysql://db/mash")


def test_an_instance_changing_a_referral_holds_it_until_its_batch_commits(
    postgres_url: str,
) -> None:
    """In PostgreSQL, a firewall instance that reads a referral within its batch holds the row
    until the batch commits: another instance's read waits and then sees the change, so
    neither overwrites the other's (a concern linked to it, an answer to it)."""
    import threading
    import time
    import uuid

    where = PostgresState(postgres_url, schema_for(f"t{uuid.uuid4().hex[:12]}_held"))
    first, second = FirewallState(where), FirewallState(where)
    referral = Samples().referral("LEVEL_2")
    rid = referral["referral_id"]
    first.save(referral, {"answered": []})
    first.begin_group()
    found = first.referral(rid)
    assert found is not None
    read: dict[str, object] = {}

    def other_instance() -> None:
        second.begin_group()
        held = second.referral(rid)
        read["answered"], read["at"] = held and held[1]["answered"], time.monotonic()
        second.commit_group()

    thread = threading.Thread(target=other_instance)
    thread.start()
    time.sleep(0.5)
    found[1]["answered"].append("POLICE")
    first.save(referral, found[1])
    committed_at = time.monotonic()
    first.commit_group()
    thread.join(10)
    assert read["answered"] == ["POLICE"]
    assert isinstance(read["at"], float) and read["at"] >= committed_at
    first.close()
    second.close()


def test_two_batches_waiting_for_each_other_fail_one_as_an_outage(postgres_url: str) -> None:
    """Two instances each holding a referral the other's batch reads next: PostgreSQL breaks
    the deadlock by failing one batch, which the runner undoes and redoes like an outage
    (StoreUnavailable); the other batch goes through."""
    import threading
    import uuid

    from hub.errors import StoreUnavailable

    where = PostgresState(postgres_url, schema_for(f"t{uuid.uuid4().hex[:12]}_deadlock"))
    first, second = FirewallState(where), FirewallState(where)
    samples = Samples()
    one, two = samples.referral("LEVEL_2"), samples.referral("LEVEL_2")
    first.save(one, {"n": 1})
    first.save(two, {"n": 2})
    both_hold = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def batch(name: str, state: FirewallState, mine: str, theirs: str) -> None:
        state.begin_group()
        state.referral(mine)
        both_hold.wait()
        try:
            state.referral(theirs)
            state.commit_group()
            outcomes[name] = "committed"
        except StoreUnavailable:
            state.rollback_group()
            outcomes[name] = "outage"

    threads = [
        threading.Thread(
            target=batch, args=("first", first, one["referral_id"], two["referral_id"])
        ),
        threading.Thread(
            target=batch, args=("second", second, two["referral_id"], one["referral_id"])
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["committed", "outage"], outcomes
    first.close()
    second.close()


def test_a_row_held_too_long_is_an_outage_not_a_wait_without_end(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A referral another instance holds past the lock timeout (it hangs, or shares this
    event loop) fails the read as StoreUnavailable, so the batch is undone and redone."""
    import uuid

    import hub.statedb
    from hub.errors import StoreUnavailable

    monkeypatch.setattr(hub.statedb, "LOCK_TIMEOUT_MS", 200)
    where = PostgresState(postgres_url, schema_for(f"t{uuid.uuid4().hex[:12]}_timeout"))
    first, second = FirewallState(where), FirewallState(where)
    referral = Samples().referral("LEVEL_2")
    first.save(referral, {"n": 1})
    first.begin_group()
    assert first.referral(referral["referral_id"]) is not None
    second.begin_group()
    with pytest.raises(StoreUnavailable, match="LockNotAvailable"):
        second.referral(referral["referral_id"])
    second.rollback_group()
    first.commit_group()
    second.begin_group()
    assert second.referral(referral["referral_id"]) is not None
    second.commit_group()
    first.close()
    second.close()

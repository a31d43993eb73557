"""The disclosure log is append-only and every kind of tampering is found by verify."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.disclosure_log import AppendOnlyViolation, DisclosureLog, sign_checkpoint, verify_log
from hub.disclosure_log.checkpoint import verify_checkpoint

KEY = Ed25519PrivateKey.generate()


def _entries(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "entry_id": f"e{i}",
            "correlation_id": "ref-1",
            "at": f"2026-11-21T10:00:{i:02d}",
            "operation": "withhold",
            "decision": "WITHHELD",
            "rule_id": "L1-police-withhold",
            "subject_pseudonyms": ["ps:abc"],
        }
        for i in range(start, start + n)
    ]


def _log(tmp_path: Path, n: int = 10, checkpoint_at: int | None = None) -> DisclosureLog:
    log = DisclosureLog(tmp_path / "log.db")
    log.append(_entries(checkpoint_at or n))
    size, root, chain = log.root()
    log.add_checkpoint(sign_checkpoint("test", size, root, chain, KEY))
    if checkpoint_at is not None:
        log.append(_entries(n - checkpoint_at, checkpoint_at))
    return log


def _raw(tmp_path: Path) -> sqlite3.Connection:
    """The attacker's view: direct SQL with the protective triggers dropped."""
    db = sqlite3.connect(tmp_path / "log.db", isolation_level=None)
    for trigger in ("entries_no_update", "entries_no_delete", "subjects_no_delete"):
        db.execute(f"DROP TRIGGER {trigger}")
    return db


def _verify(log: DisclosureLog, witnessed: list[str] | None = None):  # type: ignore[no-untyped-def]
    return verify_log(log, [KEY.public_key()], witnessed or [])


def test_clean_log_verifies(tmp_path: Path) -> None:
    """Entries, chain and checkpoint all check out."""
    report = _verify(_log(tmp_path))
    assert report.ok and report.entries == 10 and report.checkpoints == 1


def test_store_refuses_update_and_delete(tmp_path: Path) -> None:
    """UPDATE and DELETE are refused by the database itself."""
    log = _log(tmp_path)
    with pytest.raises(AppendOnlyViolation):
        log.try_update("UPDATE entries SET body = '{}' WHERE seq = 1")
    with pytest.raises(AppendOnlyViolation):
        log.try_update("DELETE FROM entries WHERE seq = 1")


def test_redelivered_entries_are_appended_once(tmp_path: Path) -> None:
    """Appending the same entry ids again adds nothing (idempotent under redelivery)."""
    log = _log(tmp_path)
    assert log.append(_entries(10)) == 0 and log.size() == 10


def test_edited_entry_is_found(tmp_path: Path) -> None:
    """Changing an entry's content is pinpointed to that entry."""
    log = _log(tmp_path)
    body = json.loads(next(log.entries("seq = 4")).raw)
    body["decision"] = "RELEASED"
    _raw(tmp_path).execute(
        "UPDATE entries SET body = ? WHERE seq = 4",
        (json.dumps(body, sort_keys=True, separators=(",", ":")),),
    )
    report = _verify(log)
    assert not report.ok and report.first_bad_entry == 4
    assert "entry 4 was modified" in report.problems[0]


def test_deleted_entry_is_found(tmp_path: Path) -> None:
    """A missing entry is reported at its position."""
    log = _log(tmp_path)
    _raw(tmp_path).execute("DELETE FROM entries WHERE seq = 6")
    report = _verify(log)
    assert report.first_bad_entry == 6 and "entry 6 is missing" in report.problems[0]


def test_reordered_entries_are_found(tmp_path: Path) -> None:
    """Swapping two entries breaks the chain where the first moved one sits."""
    log = _log(tmp_path)
    db = _raw(tmp_path)
    rows = {
        s: db.execute("SELECT entry_id, body, leaf FROM entries WHERE seq = ?", (s,)).fetchone()
        for s in (3, 4)
    }
    db.execute("UPDATE entries SET entry_id = 'tmp' WHERE seq = 3")
    for seq, other in ((4, 3), (3, 4)):
        db.execute(
            "UPDATE entries SET entry_id = ?, body = ?, leaf = ? WHERE seq = ?", (*rows[other], seq)
        )
    report = _verify(log)
    assert report.first_bad_entry == 3 and "hash chain" in report.problems[0]


def test_inserted_entry_is_found(tmp_path: Path) -> None:
    """An entry slipped in between breaks the chain at that position."""
    log = _log(tmp_path)
    db = _raw(tmp_path)
    db.execute("UPDATE entries SET seq = seq + 100 WHERE seq > 5")
    db.execute("UPDATE entries SET seq = seq - 99 WHERE seq > 100")
    forged = json.dumps(_entries(1, 99)[0], sort_keys=True, separators=(",", ":"))
    from hub.disclosure_log.merkle import leaf_hash

    db.execute(
        "INSERT INTO entries VALUES (6, 'x', 'ref-1', 'now', ?, ?, ?)",
        (forged, leaf_hash(forged.encode()), b"\x00" * 32),
    )
    report = _verify(log)
    assert report.first_bad_entry == 6 and "hash chain" in report.problems[0]


def test_rewritten_history_is_caught_by_the_signed_checkpoint(tmp_path: Path) -> None:
    """An attacker who recomputes every hash still cannot match the signed checkpoint."""
    log = _log(tmp_path)
    entries = [e.body for e in log.entries()]
    entries[2]["decision"] = "RELEASED"
    rebuilt = DisclosureLog(tmp_path / "rebuilt.db")
    rebuilt.append(entries)
    for note in log.checkpoint_notes():
        rebuilt.add_checkpoint(verify_checkpoint(note, KEY.public_key()))
    report = _verify(rebuilt)
    assert not report.ok and report.first_bad_entry == 1
    assert "differ from the signed checkpoint" in report.problems[0]


def test_truncation_after_the_last_checkpoint_needs_witnesses(tmp_path: Path) -> None:
    """Dropping the tail (and the checkpoint table) is caught only against witnessed notes."""
    log = _log(tmp_path, n=12, checkpoint_at=8)
    size, root, chain = log.root()
    witnessed = sign_checkpoint("test", size, root, chain, KEY).note  # published to mash.audit
    db = _raw(tmp_path)
    db.execute("DROP TRIGGER checkpoints_no_delete")
    db.execute("DELETE FROM entries WHERE seq > 8")
    assert _verify(log).ok  # the database alone cannot tell
    report = _verify(log, [witnessed])
    assert not report.ok and "log truncated" in report.problems[0]
    assert report.first_bad_entry == 9


def test_forged_checkpoint_is_refused(tmp_path: Path) -> None:
    """A checkpoint signed by another key does not verify."""
    log = _log(tmp_path)
    size, root, chain = log.root()
    forged = sign_checkpoint("test", size, root, chain, Ed25519PrivateKey.generate()).note
    report = _verify(log, [forged])
    assert not report.ok and "signature" in report.problems[0]


def test_frontier_root_equals_the_full_tree_hash() -> None:
    """The incremental right edge gives RFC 6962's root at every size, not only powers of 2."""
    from hub.disclosure_log.merkle import Frontier, leaf_hash, root

    frontier, leaves = Frontier(), []
    assert frontier.root() == root([])
    for i in range(300):
        leaves.append(leaf_hash(str(i).encode()))
        frontier.append(leaves[-1])
        assert frontier.root() == root(leaves), f"size {i + 1}"


def test_root_catches_up_with_another_writer(tmp_path: Path) -> None:
    """A log's cached root includes entries another writer appended, and equals a fresh
    recomputation; older sizes are recomputed from their leaves."""
    first = DisclosureLog(tmp_path / "log.db")
    first.append(_entries(5))
    assert first.root()[0] == 5
    DisclosureLog(tmp_path / "log.db").append(_entries(7, 5))  # a second firewall instance
    first.append(_entries(3, 12))
    fresh = DisclosureLog(tmp_path / "log.db")
    assert first.root() == fresh.root() and first.root()[0] == 15
    by_size = fresh.roots([3, 5, 15])
    assert by_size[5] == first.root(5) and by_size[15] == first.root()
    assert by_size[3] != by_size[5]


def test_many_checkpoints_verify_in_one_pass(tmp_path: Path) -> None:
    """Every checkpoint of a growing log verifies; a rewrite is blamed on the first one
    that covers it."""
    log = DisclosureLog(tmp_path / "log.db")
    for start in range(0, 40, 4):
        log.append(_entries(4, start))
        size, root, chain = log.root()
        log.add_checkpoint(sign_checkpoint("test", size, root, chain, KEY))
    report = _verify(log)
    assert report.ok and report.checkpoints == 10
    raw = _raw(tmp_path)
    raw.execute("UPDATE entries SET leaf = zeroblob(32) WHERE seq = 30")
    report = _verify(DisclosureLog(tmp_path / "log.db"))
    assert not report.ok
    assert any("entries 1..32 differ" in p for p in report.problems)
    assert not any("entries 1..28 differ" in p for p in report.problems)


def test_subject_lookup_finds_exactly_the_entries_naming_the_subject(tmp_path: Path) -> None:
    """A subject access search returns the entries that name the pseudonym, not the other
    entries of the same referral; the index holds one row per subject and referral."""
    log = DisclosureLog(tmp_path / "log.db")
    named = _entries(12)  # ref-1, all naming ps:abc
    other = [{**e, "entry_id": f"n{i}", "subject_pseudonyms": []} for i, e in enumerate(named)]
    elsewhere = [{**e, "correlation_id": "ref-2", "entry_id": f"x{i}"} for i, e in enumerate(named)]
    log.append(named[:6] + other[:2])
    log.append(named[6:] + elsewhere[:3])
    log.append(named)  # a redelivery adds nothing
    found = log.by_pseudonym(["ps:abc"])
    assert [e.body["entry_id"] for e in found] == [f"e{i}" for i in range(12)] + ["x0", "x1", "x2"]
    assert log.by_pseudonym(["ps:nobody"]) == []
    db = sqlite3.connect(tmp_path / "log.db")
    assert db.execute("SELECT count(*) FROM referral_subjects").fetchone() == (2,)
    assert DisclosureLog(tmp_path / "log.db").by_pseudonym(["ps:abc"]) == found


def test_subject_lookup_reads_a_log_indexed_per_entry(tmp_path: Path) -> None:
    """Logs written before the per-referral index (one subjects row per entry) are still
    searched in full."""
    log = DisclosureLog(tmp_path / "log.db")
    log.append(_entries(4))
    raw = sqlite3.connect(tmp_path / "log.db", isolation_level=None)
    raw.execute("DROP TRIGGER referral_subjects_no_delete")
    raw.execute("DELETE FROM referral_subjects")  # as an older release wrote it
    raw.executemany("INSERT INTO subjects VALUES (?, 'ps:abc')", [(s,) for s in (1, 2, 3, 4)])
    assert [e.seq for e in DisclosureLog(tmp_path / "log.db").by_pseudonym(["ps:abc"])] == [
        1,
        2,
        3,
        4,
    ]

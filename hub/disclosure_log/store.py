"""The append-only store (SQLite by default). Each entry is canonical JSON, hashed as a Merkle
leaf and into a hash chain; triggers make the database itself refuse UPDATE and DELETE."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.disclosure_log.checkpoint import Checkpoint
from hub.disclosure_log.merkle import chain_hash, leaf_hash, root

GENESIS = b"\x00" * 32
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    entry_id TEXT NOT NULL UNIQUE,
    correlation_id TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    leaf BLOB NOT NULL,
    chain BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_correlation ON entries (correlation_id);
CREATE TABLE IF NOT EXISTS subjects (
    seq INTEGER NOT NULL REFERENCES entries (seq),
    pseudonym TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subjects_pseudonym ON subjects (pseudonym);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'disclosure log is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'disclosure log is append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS subjects_no_update BEFORE UPDATE ON subjects
BEGIN SELECT RAISE(ABORT, 'disclosure log is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS subjects_no_delete BEFORE DELETE ON subjects
BEGIN SELECT RAISE(ABORT, 'disclosure log is append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'disclosure log is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'disclosure log is append-only: DELETE refused'); END;
"""


class AppendOnlyViolation(RuntimeError):
    """The store refused to change or remove an entry."""


def canonical(entry: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed for an entry."""
    return json.dumps(
        entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


@dataclass(frozen=True)
class StoredEntry:
    """One entry as stored: position, hashes and the decoded body."""

    seq: int
    body: dict[str, Any]
    raw: bytes
    leaf: bytes
    chain: bytes


class DisclosureLog:
    """Append-only disclosure log over SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _head(self) -> tuple[int, bytes]:
        row = self._db.execute("SELECT seq, chain FROM entries ORDER BY seq DESC LIMIT 1")
        found = row.fetchone()
        return (int(found[0]), bytes(found[1])) if found else (0, GENESIS)

    def append(self, entries: Sequence[dict[str, Any]]) -> int:
        """Append entries atomically (one transaction); entries already present (same
        ``entry_id``, e.g. after a redelivery) are skipped. Returns how many were added."""
        added = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq, chain = self._head()
                for entry in entries:
                    exists = self._db.execute(
                        "SELECT 1 FROM entries WHERE entry_id = ?", (entry["entry_id"],)
                    ).fetchone()
                    if exists:
                        continue
                    raw = canonical(entry)
                    leaf = leaf_hash(raw)
                    chain = chain_hash(chain, leaf)
                    seq += 1
                    self._db.execute(
                        "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            seq,
                            entry["entry_id"],
                            entry["correlation_id"],
                            entry["at"],
                            raw.decode(),
                            leaf,
                            chain,
                        ),
                    )
                    for pseudonym in entry.get("subject_pseudonyms", []):
                        self._db.execute("INSERT INTO subjects VALUES (?, ?)", (seq, pseudonym))
                    added += 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def size(self) -> int:
        """Number of entries."""
        return self._head()[0]

    def entries(self, where: str = "", params: Sequence[Any] = ()) -> Iterator[StoredEntry]:
        """Entries in order, optionally filtered by a SQL condition on the entries table."""
        sql = "SELECT seq, body, leaf, chain FROM entries"
        sql += f" WHERE {where}" if where else ""
        for seq, body, leaf, chain in self._db.execute(sql + " ORDER BY seq", tuple(params)):
            raw = body.encode()
            yield StoredEntry(int(seq), json.loads(body), raw, bytes(leaf), bytes(chain))

    def by_pseudonym(self, pseudonyms: Sequence[str]) -> list[StoredEntry]:
        """Every entry about any of these subject pseudonyms (for subject access requests)."""
        marks = ",".join("?" * len(pseudonyms))
        return list(
            self.entries(
                f"seq IN (SELECT seq FROM subjects WHERE pseudonym IN ({marks}))", pseudonyms
            )
        )

    def root(self, size: int | None = None) -> tuple[int, bytes, bytes]:
        """(size, Merkle root, chain head) over the first ``size`` entries (default all)."""
        leaves, chain = [], GENESIS
        limit = size if size is not None else self.size()
        for _, leaf, link in self._db.execute(
            "SELECT seq, leaf, chain FROM entries WHERE seq <= ? ORDER BY seq", (limit,)
        ):
            leaves.append(bytes(leaf))
            chain = bytes(link)
        return len(leaves), root(leaves), chain

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Keep a checkpoint (it is also published outside the database)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO checkpoints VALUES (?, ?)",
                (checkpoint.size, checkpoint.note),
            )

    def checkpoint_notes(self) -> list[str]:
        """Stored checkpoint notes, oldest first."""
        return [n for (n,) in self._db.execute("SELECT note FROM checkpoints ORDER BY size")]

    def last_checkpoint_size(self) -> int:
        """Size of the newest checkpoint (0 if none)."""
        row = self._db.execute("SELECT MAX(size) FROM checkpoints").fetchone()
        return int(row[0] or 0)

    def try_update(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a modifying statement; AppendOnlyViolation when the store refuses it."""
        try:
            self._db.execute(sql, tuple(params))
        except sqlite3.DatabaseError as exc:
            if "append-only" in str(exc):
                raise AppendOnlyViolation(str(exc)) from exc
            raise

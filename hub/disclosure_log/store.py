"""The append-only store (SQLite by default). Each entry is canonical JSON, hashed as a Merkle
leaf and into a hash chain; triggers make the database itself refuse UPDATE and DELETE."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from hub.dbconn import Connection, connect_postgres
from hub.disclosure_log.checkpoint import Checkpoint
from hub.disclosure_log.dialects import POSTGRES, SQLITE
from hub.disclosure_log.merkle import Frontier, chain_hash, leaf_hash
from hub.errors import StoreUnavailable
from hub.sqlite import open_durable

GENESIS = b"\x00" * 32
INDEXED_PAIRS = 65_536  # (pseudonym, referral) pairs remembered as already indexed


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


def _connect_postgres(url: str) -> Any:
    """A connection to the log's database, its tables created on first use."""
    db = connect_postgres(url)
    db.execute("SELECT pg_advisory_lock(4242)")
    try:
        db.execute(POSTGRES.schema)
    finally:
        db.execute("SELECT pg_advisory_unlock(4242)")
    return db


def _connect_sqlite(path: Path) -> sqlite3.Connection:
    db = open_durable(path)
    db.executescript(SQLITE.schema)
    return db


def _psycopg_error() -> type[Exception]:
    import psycopg

    error: type[Exception] = psycopg.Error
    return error


class DisclosureLog:
    """Append-only disclosure log over SQLite (a path) or PostgreSQL (a postgresql:// URL)."""

    def __init__(self, where: Path | str) -> None:
        self._lock = threading.Lock()
        self._frontier = Frontier()  # the tree's right edge, caught up lazily (see root())
        self._frontier_chain = GENESIS
        # Subject lookups are indexed per (pseudonym, referral), not per entry: a response's
        # dozen entries name the same people, and the pairs written lately need no new write.
        self._indexed: OrderedDict[tuple[str, str], None] = OrderedDict()
        if isinstance(where, str) and where.startswith(("postgresql://", "postgres://")):
            self.path = None
            self.dialect = POSTGRES
            self._db = Connection(partial(_connect_postgres, where), "disclosure log")
            self._errors: tuple[type[Exception], ...] = (_psycopg_error(),)
            return
        path = Path(where)
        self.path = path
        self.dialect = SQLITE
        self._db = Connection(partial(_connect_sqlite, path), "disclosure log")
        self._errors = (sqlite3.DatabaseError,)

    def _q(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(self.dialect.sql(statement), tuple(params))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _head(self) -> tuple[int, bytes]:
        row = self._q("SELECT seq, chain FROM entries ORDER BY seq DESC LIMIT 1")
        found = row.fetchone()
        return (int(found[0]), bytes(found[1])) if found else (0, GENESIS)

    def append(self, entries: Sequence[dict[str, Any]]) -> int:
        """Append entries atomically (one transaction); entries already present (same
        ``entry_id``, e.g. after a redelivery) are skipped. Returns how many were added."""
        added = 0
        with self._lock:
            self._db.execute(self.dialect.begin)
            if self.dialect is POSTGRES:
                self._db.execute("LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE")
            try:
                seq, chain = self._head()
                ids = [e["entry_id"] for e in entries]
                marks = ",".join("?" * len(ids))
                present = (
                    {
                        r[0]
                        for r in self._q(
                            f"SELECT entry_id FROM entries WHERE entry_id IN ({marks})", ids
                        ).fetchall()
                    }
                    if ids
                    else set()
                )
                rows, pairs = [], dict[tuple[str, str], None]()
                for entry in entries:
                    if entry["entry_id"] in present:
                        continue
                    present.add(entry["entry_id"])
                    raw = canonical(entry)
                    leaf = leaf_hash(raw)
                    chain = chain_hash(chain, leaf)
                    seq += 1
                    rows.append(
                        (
                            seq,
                            entry["entry_id"],
                            entry["correlation_id"],
                            entry["at"],
                            raw.decode(),
                            leaf,
                            chain,
                        )
                    )
                    for p in entry.get("subject_pseudonyms", []):
                        if (p, entry["correlation_id"]) not in self._indexed:
                            pairs[p, entry["correlation_id"]] = None
                if rows:
                    self._db.executemany(
                        self.dialect.sql("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)"), rows
                    )
                if pairs:
                    self._db.executemany(self.dialect.insert_subject, list(pairs))
                added = len(rows)
                self._db.execute("COMMIT")
                self._remember_indexed(pairs)
            except BaseException:
                with contextlib.suppress(StoreUnavailable):  # the outage undid it already
                    self._db.rollback()
                raise
            if rows and self._frontier.size == rows[0][0] - 1:  # up to date: extend in memory
                for row in rows:
                    self._frontier.append(row[5])
                self._frontier_chain = row[6]
        return added

    def _remember_indexed(self, pairs: dict[tuple[str, str], None]) -> None:
        """Note pairs now durably indexed (after the commit: a rolled-back one is not)."""
        self._indexed.update(pairs)
        while len(self._indexed) > INDEXED_PAIRS:
            self._indexed.popitem(last=False)

    def size(self) -> int:
        """Number of entries."""
        return self._head()[0]

    def entries(self, where: str = "", params: Sequence[Any] = ()) -> Iterator[StoredEntry]:
        """Entries in order, optionally filtered by a SQL condition on the entries table."""
        sql = "SELECT seq, body, leaf, chain FROM entries"
        sql += f" WHERE {where}" if where else ""
        for seq, body, leaf, chain in self._q(sql + " ORDER BY seq", params).fetchall():
            raw = body.encode()
            yield StoredEntry(int(seq), json.loads(body), raw, bytes(leaf), bytes(chain))

    def by_pseudonym(self, pseudonyms: Sequence[str]) -> list[StoredEntry]:
        """Every entry about any of these subject pseudonyms (for subject access requests):
        the entries of each referral that names them, kept where the entry itself does.
        Logs written before the per-referral index keep their per-entry rows (also read)."""
        wanted = set(pseudonyms)
        marks = ",".join("?" * len(wanted))
        found = self.entries(
            f"correlation_id IN (SELECT correlation_id FROM referral_subjects "
            f"WHERE pseudonym IN ({marks})) "
            f"OR seq IN (SELECT seq FROM subjects WHERE pseudonym IN ({marks}))",
            [*wanted, *wanted],
        )
        return [e for e in found if wanted & set(e.body.get("subject_pseudonyms") or ())]

    def root(self, size: int | None = None) -> tuple[int, bytes, bytes]:
        """(size, Merkle root, chain head) over the first ``size`` entries (default all).
        The current root comes from the cached frontier, reading only entries appended since
        (by this or another writer); an older size is recomputed from its leaves."""
        with self._lock:
            rows = self._q(
                "SELECT seq, leaf, chain FROM entries WHERE seq > ? ORDER BY seq",
                (self._frontier.size,),
            ).fetchall()
            for _, leaf, link in rows:
                self._frontier.append(bytes(leaf))
                self._frontier_chain = bytes(link)
            if size is None or size == self._frontier.size:
                return self._frontier.size, self._frontier.root(), self._frontier_chain
        return self.roots([size])[size]

    def roots(self, sizes: Sequence[int]) -> dict[int, tuple[int, bytes, bytes]]:
        """``root(size)`` for several sizes in one pass over the leaves (verifying every
        checkpoint stays linear in the log, not quadratic)."""
        wanted, out = sorted(set(sizes)), {}
        frontier, chain = Frontier(), GENESIS
        limit = wanted[-1] if wanted else 0
        for n in (s for s in wanted if s <= 0):
            out[n] = (0, frontier.root(), chain)
        rows = self._q(
            "SELECT seq, leaf, chain FROM entries WHERE seq <= ? ORDER BY seq", (limit,)
        ).fetchall()
        targets = set(wanted)
        for _, leaf, link in rows:
            frontier.append(bytes(leaf))
            chain = bytes(link)
            if frontier.size in targets:
                out[frontier.size] = (frontier.size, frontier.root(), chain)
        for n in wanted:  # beyond the end: what there is (the caller compares sizes)
            out.setdefault(n, (frontier.size, frontier.root(), chain))
        return out

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Keep a checkpoint (it is also published outside the database)."""
        with self._lock:
            self._db.execute(self.dialect.insert_checkpoint, (checkpoint.size, checkpoint.note))

    def checkpoint_notes(self) -> list[str]:
        """Stored checkpoint notes, oldest first."""
        return [n for (n,) in self._q("SELECT note FROM checkpoints ORDER BY size").fetchall()]

    def last_checkpoint_size(self) -> int:
        """Size of the newest checkpoint (0 if none)."""
        row = self._q("SELECT MAX(size) FROM checkpoints").fetchone()
        return int(row[0] or 0)

    def try_update(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a modifying statement; AppendOnlyViolation when the store refuses it."""
        try:
            self._q(sql, params)
        except self._errors as exc:
            if "append-only" in str(exc):
                raise AppendOnlyViolation(str(exc).strip()) from exc
            raise

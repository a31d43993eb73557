"""SQLite connections for service state: WAL, full fsync on commit, autocommit mode (callers
open their own transactions), usable from the service's worker threads; and the group commit
of a service's state (SQLite or PostgreSQL, hub.statedb)."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from hub.errors import StoreUnavailable

if TYPE_CHECKING:
    from hub.statedb import StateDB


BUSY_TIMEOUT_S = 5.0  # how long a write waits for another process's lock before it is an outage


def open_durable(path: Path) -> sqlite3.Connection:
    """A connection whose committed writes survive a crash or power loss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def name_lock_key(name: str) -> int:
    """A name as a PostgreSQL advisory lock key (64 bits of its SHA-256: a collision costs a
    needless wait, never a wrong answer)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class GroupCommit:
    """Service state whose writes can be held in one transaction for a whole sent batch (the
    runner's group commit): one durable commit for many messages, and a crash before it
    loses nothing that was sent, because nothing was."""

    _db: StateDB
    _grouped: bool = False

    @property
    def _for_update(self) -> str:
        """What a read of a row about to be changed ends with: in PostgreSQL within a group,
        FOR UPDATE, so the row stays locked until the group commits and two instances never
        overwrite each other's change (SQLite's group holds the whole write lock already)."""
        return " FOR UPDATE" if self._grouped and self._db.dialect == "postgresql" else ""

    def _hold_names(self, names: list[str]) -> None:
        """In PostgreSQL within a group, lock these names (say, a child's pseudonyms) until the
        group commits, so that another instance's batch that looks them up waits for this
        one's writes about them; SQLite's group holds the whole write lock already."""
        if not (self._grouped and self._db.dialect == "postgresql" and names):
            return
        keys = sorted({name_lock_key(n) for n in names})  # one order: no deadlock between two
        self._db.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) AS k", (keys,))

    def begin_group(self) -> None:
        """Hold every write until commit_group()."""
        if not self._grouped:
            self._db.begin()
            self._grouped = True

    @contextmanager
    def message_scope(self) -> Iterator[None]:
        """One message's writes within the group: if handling it fails, they alone are undone
        (and in PostgreSQL the group's transaction, aborted by a failed statement, goes on)."""
        if not self._grouped:
            yield
            return
        self._db.execute("SAVEPOINT message")
        try:
            yield
        except BaseException:
            self._forget()
            with contextlib.suppress(StoreUnavailable):  # an outage has undone the group
                self._db.execute("ROLLBACK TO SAVEPOINT message")
                self._db.execute("RELEASE SAVEPOINT message")
            raise
        self._db.execute("RELEASE SAVEPOINT message")

    def rollback_group(self) -> None:
        """Undo the grouped writes (the database failed before they were committed; the
        messages that made them come again)."""
        if self._grouped:
            self._grouped = False
            self._forget()
            with contextlib.suppress(StoreUnavailable):  # an outage has undone them already
                self._db.rollback()

    def _forget(self) -> None:
        """Drop whatever the store keeps in memory of writes being undone."""

    def commit_group(self) -> None:
        """Make the grouped writes durable."""
        if self._grouped:
            self._db.commit()
            self._grouped = False

"""Message ids already processed, so a replayed or redelivered message is never acted on twice.

Each id is kept with where it was consumed (topic, partition, offset), so the opener can tell
the same record consumed again (a redelivery: skipped quietly) from a copy published again (a
replay: quarantined). Entries are kept until the message's own expiry: after that the
time-window check refuses it anyway, so the store stays bounded.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

from hub.statedb import StateDB, StateWhere


class SeenMessages(Protocol):
    """What the opener needs from a replay store."""

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""

    def position(self, message_id: str) -> str | None:
        """Where ``message_id`` was consumed when it was processed ("" or None: not known)."""

    def remember(self, message_id: str, expires_at: datetime, position: str = "") -> None:
        """Record ``message_id`` as processed until ``expires_at``, consumed at ``position``."""


def position_of(topic: str, partition: int, offset: int) -> str:
    """A consumed record's place in the log, as the replay store keeps it."""
    return f"{topic}:{partition}:{offset}"


class MemorySeenMessages:
    """In-process store for tests and short-lived tools."""

    def __init__(self) -> None:
        self._ids: dict[str, tuple[datetime, str]] = {}

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""
        return message_id in self._ids

    def position(self, message_id: str) -> str | None:
        """Where ``message_id`` was consumed when it was processed, if known."""
        found = self._ids.get(message_id)
        return found[1] if found else None

    def remember(self, message_id: str, expires_at: datetime, position: str = "") -> None:
        """Record ``message_id`` as processed until ``expires_at``."""
        self._ids[message_id] = (expires_at, position)

    def prune(self, now: datetime) -> int:
        """Forget ids whose messages have expired; returns how many."""
        stale = [k for k, (v, _) in self._ids.items() if v < now]
        for k in stale:
            del self._ids[k]
        return len(stale)


class DurableSeenMessages:
    """Durable store for services: survives restarts, so redelivery after a crash is caught;
    in PostgreSQL, shared by every instance, so a replay is caught whichever one it reaches."""

    def __init__(self, where: StateWhere) -> None:
        self._db = StateDB(where, "replay store")
        self._db.script(
            "CREATE TABLE IF NOT EXISTS seen (message_id TEXT PRIMARY KEY, "
            "expires_at TEXT NOT NULL, position TEXT)"
        )
        self._db.add_column("seen", "position", "TEXT")  # a store made before positions
        self._lock = threading.Lock()

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM seen WHERE message_id = ?", (message_id,))
            return row.fetchone() is not None

    def position(self, message_id: str) -> str | None:
        """Where ``message_id`` was consumed when it was processed, if known."""
        with self._lock:
            row = self._db.execute("SELECT position FROM seen WHERE message_id = ?", (message_id,))
            found = row.fetchone()
            return found[0] if found else None

    def remember(self, message_id: str, expires_at: datetime, position: str = "") -> None:
        """Record ``message_id`` durably."""
        self.remember_many([(message_id, expires_at, position)])

    def remember_many(self, items: list[tuple[str, datetime, str]]) -> None:
        """Record several (id, expiry, position) in one durable transaction (a consumed
        batch); an id recorded before keeps its first position."""
        with self._lock:
            self._db.begin()
            try:
                self._db.executemany(
                    "INSERT INTO seen (message_id, expires_at, position) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(m, e.isoformat(), p or None) for m, e, p in items],
                )
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    def prune(self, now: datetime) -> int:
        """Forget ids whose messages have expired; returns how many."""
        with self._lock:
            return self._db.execute(
                "DELETE FROM seen WHERE expires_at < ?", (now.isoformat(),)
            ).rowcount

    def close(self) -> None:
        """Close the database."""
        self._db.close()

"""Message ids already processed, so a replayed or redelivered message is never acted on twice.

Entries are kept until the message's own expiry: after that the time-window check refuses it
anyway, so the store stays bounded.
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

    def remember(self, message_id: str, expires_at: datetime) -> None:
        """Record ``message_id`` as processed until ``expires_at``."""


class MemorySeenMessages:
    """In-process store for tests and short-lived tools."""

    def __init__(self) -> None:
        self._ids: dict[str, datetime] = {}

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""
        return message_id in self._ids

    def remember(self, message_id: str, expires_at: datetime) -> None:
        """Record ``message_id`` as processed until ``expires_at``."""
        self._ids[message_id] = expires_at

    def prune(self, now: datetime) -> int:
        """Forget ids whose messages have expired; returns how many."""
        stale = [k for k, v in self._ids.items() if v < now]
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
            "expires_at TEXT NOT NULL)"
        )
        self._lock = threading.Lock()

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM seen WHERE message_id = ?", (message_id,))
            return row.fetchone() is not None

    def remember(self, message_id: str, expires_at: datetime) -> None:
        """Record ``message_id`` durably."""
        self.remember_many([(message_id, expires_at)])

    def remember_many(self, items: list[tuple[str, datetime]]) -> None:
        """Record several ids in one durable transaction (a consumed batch)."""
        with self._lock:
            self._db.begin()
            try:
                self._db.executemany(
                    "INSERT INTO seen (message_id, expires_at) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(m, e.isoformat()) for m, e in items],
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

"""Message ids already processed, so a replayed or redelivered message is never acted on twice.

Each id is kept with where it was consumed (topic, partition, offset) and a digest of its
envelope's signature, so the opener can tell, for a message processed before: the same record
consumed again (a redelivery), the sender's own new sealing of it (a re-send, after the sender
redid its work), and the very same envelope at another place (a replay, or a publish the sender
retried). Entries are kept until the message's own expiry: after that the time-window check
refuses it anyway, so the store stays bounded.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hub.statedb import StateDB, StateWhere


@dataclass(frozen=True)
class SeenAs:
    """How a processed message was recorded ("" where not recorded: an older store)."""

    position: str
    digest: str


class SeenMessages(Protocol):
    """What the opener needs from a replay store."""

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""

    def seen_as(self, message_id: str) -> SeenAs | None:
        """Where and as what ``message_id`` was processed, or None if it was not."""

    def remember(
        self, message_id: str, expires_at: datetime, position: str = "", digest: str = ""
    ) -> None:
        """Record ``message_id`` as processed until ``expires_at``, consumed at ``position``
        as the envelope whose signature has ``digest``."""


def position_of(topic: str, partition: int, offset: int) -> str:
    """A consumed record's place in the log, as the replay store keeps it."""
    return f"{topic}:{partition}:{offset}"


def envelope_digest(signature: bytes) -> str:
    """What the replay store keeps of an envelope: a digest of its signature (every sealing
    of a message signs a fresh nonce and data key, so two sealings never share one)."""
    return hashlib.sha256(signature).hexdigest()[:32]


class MemorySeenMessages:
    """In-process store for tests and short-lived tools."""

    def __init__(self) -> None:
        self._ids: dict[str, tuple[datetime, SeenAs]] = {}

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""
        return message_id in self._ids

    def seen_as(self, message_id: str) -> SeenAs | None:
        """Where and as what ``message_id`` was processed, or None."""
        found = self._ids.get(message_id)
        return found[1] if found else None

    def remember(
        self, message_id: str, expires_at: datetime, position: str = "", digest: str = ""
    ) -> None:
        """Record ``message_id`` as processed until ``expires_at``."""
        self._ids.setdefault(message_id, (expires_at, SeenAs(position, digest)))

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
            "expires_at TEXT NOT NULL, position TEXT, digest TEXT)"
        )
        for column in ("position", "digest"):  # a store made before they were kept
            self._db.add_column("seen", column, "TEXT")
        self._lock = threading.Lock()

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was processed before."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM seen WHERE message_id = ?", (message_id,))
            return row.fetchone() is not None

    def seen_as(self, message_id: str) -> SeenAs | None:
        """Where and as what ``message_id`` was processed, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT position, digest FROM seen WHERE message_id = ?", (message_id,)
            )
            found = row.fetchone()
            return SeenAs(found[0] or "", found[1] or "") if found else None

    def remember(
        self, message_id: str, expires_at: datetime, position: str = "", digest: str = ""
    ) -> None:
        """Record ``message_id`` durably."""
        self.remember_many([(message_id, expires_at, position, digest)])

    def remember_many(self, items: list[tuple[str, datetime, str, str]]) -> None:
        """Record several (id, expiry, position, digest) in one durable transaction (a consumed
        batch); an id recorded before keeps its first record."""
        with self._lock:
            self._db.begin()
            try:
                self._db.executemany(
                    "INSERT INTO seen (message_id, expires_at, position, digest) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [(m, e.isoformat(), p or None, d or None) for m, e, p, d in items],
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

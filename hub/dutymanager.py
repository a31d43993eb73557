"""The duty manager's inbox: packages and notifications opened with the dutymanager keys and
kept locally, so `mash packages` can list, show and wait for them."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from hub.codec import Codec
from hub.envelope import Opener
from hub.errors import MessageRejected
from hub.keys import KeyRing
from hub.replay import MemorySeenMessages
from hub.settings import KafkaSettings
from hub.topology import Topology
from hub.transport.kafka import KafkaSubscription

PRINCIPAL = "dutymanager"


class Inbox:
    """Local store of what the duty manager has received."""

    def __init__(self, path: Path, codec: Codec | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.codec = codec or Codec()
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS packages (package_id TEXT PRIMARY KEY, referral_id TEXT,
                addendum INTEGER, received_at TEXT, record BLOB, schema BLOB);
            CREATE TABLE IF NOT EXISTS notifications (notification_id TEXT PRIMARY KEY,
                referral_id TEXT, record BLOB, schema BLOB);
        """)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def add(self, schema_name: str, record: dict[str, Any]) -> None:
        """Keep a package or notification (idempotent)."""
        data, sha = self.codec.encode(schema_name, record)
        if schema_name == "mash.InformationPackage":
            self._db.execute(
                "INSERT OR IGNORE INTO packages VALUES (?,?,?,?,?,?)",
                (
                    record["package_id"],
                    record["referral_id"],
                    record["addendum"],
                    record["created_at"].isoformat(),
                    data,
                    sha,
                ),
            )
        else:
            self._db.execute(
                "INSERT OR IGNORE INTO notifications VALUES (?,?,?,?)",
                (record["notification_id"], record["referral_id"], data, sha),
            )

    def packages(self, referral_id: str | None = None) -> list[dict[str, Any]]:
        """Packages (and addenda), optionally of one referral (id or unique prefix)."""
        sql, params = "SELECT record, schema FROM packages", tuple[str, ...]()
        if referral_id:
            sql, params = sql + " WHERE referral_id LIKE ?", (referral_id + "%",)
        rows = self._db.execute(sql + " ORDER BY received_at, addendum", params)
        return [self.codec.decode("mash.InformationPackage", bytes(r), bytes(s)) for r, s in rows]

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification received."""
        rows = self._db.execute("SELECT record, schema FROM notifications ORDER BY rowid")
        return [self.codec.decode("mash.Notification", bytes(r), bytes(s)) for r, s in rows]


async def sync(
    inbox: Inbox, ring: KeyRing, kafka: KafkaSettings, topology: Topology, idle_ms: int = 1500
) -> int:
    """Fetch what arrived since the last sync; returns how many messages were stored."""
    topics = [topology.topic("mash.packages"), topology.topic("mash.notifications")]
    opener = Opener(ring, MemorySeenMessages())
    stored = 0
    group = topology.group_prefix(PRINCIPAL) + "inbox"
    async with KafkaSubscription(kafka, topics, group) as subscription:
        idle = 0
        async for batch in subscription.batches(timeout_ms=300):
            for message in batch:
                try:
                    opened = opener.open(message.value, topic=message.topic)
                except MessageRejected:
                    continue  # not for us or damaged: the services quarantine such input
                inbox.add(opened.header.schema_name, opened.record)
                stored += 1
            if batch:
                await subscription.commit(batch)
                idle = 0
            else:
                idle += 300
                if idle >= idle_ms:
                    break
    return stored


async def wait_for(
    inbox: Inbox,
    ring: KeyRing,
    kafka: KafkaSettings,
    topology: Topology,
    referral_id: str,
    timeout_s: float,
) -> list[dict[str, Any]]:
    """Sync until a package for ``referral_id`` is in, or the timeout passes."""
    async with asyncio.timeout(timeout_s):
        while not inbox.packages(referral_id):
            await sync(inbox, ring, kafka, topology, idle_ms=600)
    return inbox.packages(referral_id)

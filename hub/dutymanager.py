"""A principal's inbox: what it received, opened with its keys and kept locally. The duty
manager's holds packages, notifications, recorded decisions and IG's corrections (so `mash
packages` can list, show and wait for them, and `mash decide` can check a decision before
sending it); a recipient team's holds its information products and their corrections (`mash
queue`); the front door's, its feedback."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.codec import Codec
from hub.decisions import OUTCOMES, SOCIAL_CARE, DecisionInvalid
from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected
from hub.keys import KeyRing
from hub.replay import MemorySeenMessages
from hub.settings import KafkaSettings
from hub.topology import Topology
from hub.transport.base import Publisher
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
            CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, schema_name TEXT,
                referral_id TEXT, record BLOB, schema BLOB);
            CREATE TABLE IF NOT EXISTS erased (referral_id TEXT PRIMARY KEY);
        """)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def add(self, schema_name: str, record: dict[str, Any]) -> None:
        """Keep a package or notification (idempotent); nothing about an erased referral (a
        message still on its topic, fetched after the erasure, is not taken in again)."""
        erased = self._db.execute(
            "SELECT 1 FROM erased WHERE referral_id = ?", (record["referral_id"],)
        ).fetchone()
        if erased:
            return
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
        elif schema_name == "mash.Notification":
            self._db.execute(
                "INSERT OR IGNORE INTO notifications VALUES (?,?,?,?)",
                (record["notification_id"], record["referral_id"], data, sha),
            )
        else:
            ident = next(v for k, v in record.items() if k.endswith("_id"))
            self._db.execute(
                "INSERT OR IGNORE INTO messages VALUES (?,?,?,?,?)",
                (ident, schema_name, record["referral_id"], data, sha),
            )

    def packages(self, referral_id: str | None = None) -> list[dict[str, Any]]:
        """Packages (and addenda), optionally of one referral (id or unique prefix)."""
        sql, params = "SELECT record, schema FROM packages", tuple[str, ...]()
        if referral_id:
            sql, params = sql + " WHERE referral_id LIKE ?", (referral_id + "%",)
        rows = self._db.execute(sql + " ORDER BY received_at, addendum", params)
        return [self.codec.decode("mash.InformationPackage", bytes(r), bytes(s)) for r, s in rows]

    def messages(self, schema_name: str, referral_id: str | None = None) -> list[dict[str, Any]]:
        """Decisions, products or feedback received, optionally of one referral (or prefix)."""
        sql = "SELECT record, schema FROM messages WHERE schema_name = ?"
        params: tuple[str, ...] = (schema_name,)
        if referral_id:
            sql, params = sql + " AND referral_id LIKE ?", (*params, referral_id + "%")
        rows = self._db.execute(sql + " ORDER BY rowid", params)
        return [self.codec.decode(schema_name, bytes(r), bytes(s)) for r, s in rows]

    def referral_ids(self, prefix: str) -> set[str]:
        """Full referral ids known to this inbox that start with ``prefix``."""
        found: set[str] = set()
        for table in ("packages", "notifications", "messages"):
            rows = self._db.execute(
                f"SELECT DISTINCT referral_id FROM {table} WHERE referral_id LIKE ?",
                (prefix + "%",),
            )
            found |= {r for (r,) in rows}
        return found

    def erase(self, referral_id: str) -> dict[str, int]:
        """Remove what this inbox holds about one referral (IG's erasure): rows per table. The
        referral's id stays, so that nothing about it is taken in again."""
        removed = {}
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for table in ("packages", "notifications", "messages"):
                cursor = self._db.execute(
                    f"DELETE FROM {table} WHERE referral_id = ?", (referral_id,)
                )
                removed[table] = cursor.rowcount
            self._db.execute("INSERT OR IGNORE INTO erased VALUES (?)", (referral_id,))
        return removed

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification received."""
        rows = self._db.execute("SELECT record, schema FROM notifications ORDER BY rowid")
        return [self.codec.decode("mash.Notification", bytes(r), bytes(s)) for r, s in rows]


async def sync(
    inbox: Inbox,
    ring: KeyRing,
    kafka: KafkaSettings,
    topology: Topology,
    idle_ms: int = 1500,
    logical: tuple[str, ...] = (
        "mash.packages",
        "mash.notifications",
        "mash.corrections.dutymanager",
    ),
    group_name: str = "inbox",
) -> int:
    """Fetch what arrived on ``logical`` topics since the last sync (as the ring's principal);
    returns how many messages were stored."""
    topics = [topology.topic(t) for t in logical]
    opener = Opener(ring, MemorySeenMessages())
    stored = 0
    group = topology.group_prefix(ring.principal) + group_name
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


def prepare_decision(
    inbox: Inbox,
    referral_id: str,
    outcome: str,
    reason: str,
    decided_by: str,
    team: str | None = None,
    lead_professional: str | None = None,
) -> dict[str, Any]:
    """A CaseDecision checked against what the duty manager holds (the firewall checks again
    against its own state): the package is in, or the referral is Level 3; a step-down
    follows a social care decision. Raises DecisionInvalid with the reason."""
    ids = inbox.referral_ids(referral_id)
    if len(ids) != 1:
        raise DecisionInvalid(
            f"no referral {referral_id} in the inbox"
            if not ids
            else f"{referral_id} matches {len(ids)} referrals; give more of the id"
        )
    (rid,) = ids
    symbol = OUTCOMES.get(outcome, outcome)
    if symbol not in OUTCOMES.values():
        raise DecisionInvalid(f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
    packaged = inbox.packages(rid)
    level3 = any(n["referral_id"] == rid for n in inbox.notifications()) or any(
        p["level"] == "LEVEL_3" for p in packaged
    )
    if symbol != "STEP_DOWN" and not packaged and not level3:
        raise DecisionInvalid(
            "the package has not arrived: a decision before it is allowed at Level 3 only"
        )
    if symbol == "STEP_DOWN" and not any(
        d["outcome"] in SOCIAL_CARE for d in inbox.messages("mash.CaseDecision", rid)
    ):
        raise DecisionInvalid("only a case progressed by social care (s17 or s47) can step down")
    if not reason.strip():
        raise DecisionInvalid("a decision needs its reason")
    return {
        "decision_id": str(uuid.uuid4()),
        "referral_id": rid,
        "outcome": symbol,
        "reason": reason.strip(),
        "team": team.upper() if team else None,
        "lead_professional": lead_professional,
        "decided_by": decided_by,
        "decided_at": datetime.now(UTC),
        "before_package": False,
        "recipients": [],
    }


async def publish_decision(
    decision: dict[str, Any], ring: KeyRing, topology: Topology, publisher: Publisher
) -> None:
    """Seal a decision to the firewall and publish it on mash.decisions."""
    topic = topology.topic("mash.decisions")
    sealed, _ = Sealer(ring).seal(
        topic=topic,
        schema_name="mash.CaseDecision",
        record=decision,
        recipients=["firewall"],
        correlation_id=decision["referral_id"],
    )
    await publisher.publish(topic, sealed, key=decision["referral_id"].encode())

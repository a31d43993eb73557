"""The collator's durable state: open cases (JSON), the referral and findings (Avro)."""

from __future__ import annotations

import json
import threading
from typing import Any

from hub.codec import Codec
from hub.decoded import DecodedCache
from hub.sqlite import GroupCommit
from hub.statedb import StateDB, StateWhere


def next_due(case: dict[str, Any]) -> str | None:
    """The earliest pending chaser or, before the package, the deadline (UTC ISO text, which
    sorts in time order)."""
    if case.get("closed"):
        return None
    times = [case["deadline"]] if case.get("packages", 0) == 0 and case.get("deadline") else []
    for request in case.get("requests", {}).values():
        if not request.get("answered_at"):
            times += request.get("chaser_due", [])[request.get("chasers", 0) :][:1]
    return min(times) if times else None


class CollatorState(GroupCommit):
    """Cases in SQLite (a path) or in PostgreSQL, shared by every instance; survives restarts
    so deadline timers are re-armed from it."""

    def __init__(self, where: StateWhere, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self._db = StateDB(where)
        self._db.script(f"""
            CREATE TABLE IF NOT EXISTS cases (referral_id TEXT PRIMARY KEY, open INTEGER NOT NULL,
                case_json TEXT NOT NULL, referral BLOB NOT NULL, schema BLOB NOT NULL,
                level TEXT, next_due TEXT);
            CREATE INDEX IF NOT EXISTS cases_open ON cases (open);
            CREATE INDEX IF NOT EXISTS cases_due ON cases (open, next_due);
            CREATE TABLE IF NOT EXISTS findings (disclosure_id TEXT PRIMARY KEY,
                referral_id TEXT NOT NULL, record BLOB NOT NULL, schema BLOB NOT NULL,
                addendum INTEGER{self._db.arrival_column});
            CREATE INDEX IF NOT EXISTS findings_referral ON findings (referral_id)
        """)
        self._lock = threading.Lock()
        # A case is read once per finding, but its referral changes only when re-planned.
        self._referrals = DecodedCache()

    def case(self, referral_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(case, referral) or None."""
        row = self._db.execute(
            "SELECT case_json, referral, schema FROM cases WHERE referral_id = ?"
            + self._for_update,
            (referral_id,),
        ).fetchone()
        if row is None:
            return None
        data = bytes(row[1])
        referral = self._referrals.get(referral_id, data)
        if referral is None:
            referral = self.codec.decode("mash.Referral", data, bytes(row[2]))
            self._referrals.put(referral_id, data, referral)
        return json.loads(row[0]), referral

    def save(self, case: dict[str, Any], referral: dict[str, Any]) -> None:
        """Store a case durably, with when it next needs attention (a chaser or its deadline).
        The referral is re-encoded only when it is not the one already stored."""
        if self._referrals.holds(referral["referral_id"], referral):
            with self._lock:
                updated = self._db.execute(
                    "UPDATE cases SET open = ?, case_json = ?, level = ?, next_due = ? "
                    "WHERE referral_id = ?",
                    (
                        0 if case.get("closed") else 1,
                        json.dumps(case),
                        case.get("level"),
                        next_due(case),
                        referral["referral_id"],
                    ),
                )
            if updated.rowcount == 1:
                return  # else the row went with a rolled-back transaction: write it whole
        data, sha = self.codec.encode("mash.Referral", referral)
        self._referrals.put(referral["referral_id"], data, referral)
        with self._lock:
            self._db.execute(
                "INSERT INTO cases (referral_id, open, case_json, referral, schema, level, "
                "next_due) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (referral_id) DO UPDATE SET "
                "open = excluded.open, case_json = excluded.case_json, "
                "referral = excluded.referral, schema = excluded.schema, "
                "level = excluded.level, next_due = excluded.next_due",
                (
                    referral["referral_id"],
                    0 if case.get("closed") else 1,
                    json.dumps(case),
                    data,
                    sha,
                    case.get("level"),
                    next_due(case),
                ),
            )

    def erase(self, referral_id: str) -> dict[str, int]:
        """Remove the case, its referral and findings (IG's erasure): rows lost per table."""
        removed = self._db.delete_referral(("cases", "findings"), referral_id)
        self._referrals.clear()
        return removed

    def is_open(self, referral_id: str) -> bool:
        """True while the case awaits its package (or a chaser)."""
        row = self._db.execute(
            "SELECT open FROM cases WHERE referral_id = ?", (referral_id,)
        ).fetchone()
        return bool(row and row[0])

    def due(self, now_iso: str) -> list[str]:
        """Open cases with a chaser or deadline at or before ``now_iso`` (UTC ISO text)."""
        rows = self._db.execute(
            "SELECT referral_id FROM cases WHERE open = 1 AND next_due <= ?", (now_iso,)
        )
        return [r for (r,) in rows]

    def open_by_level(self) -> dict[str, int]:
        """How many referrals await their package, per level."""
        rows = self._db.execute("SELECT level, count(*) FROM cases WHERE open = 1 GROUP BY level")
        return {level: int(count) for level, count in rows}

    def add_finding(
        self, record: dict[str, Any], encoded: tuple[bytes, bytes] | None = None
    ) -> bool:
        """Keep a DisclosedInformation (as received, when ``encoded`` holds its frame and
        writer schema SHA-256); False if already kept (a redelivery)."""
        data, sha = encoded or self.codec.encode("mash.DisclosedInformation", record)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO findings (disclosure_id, referral_id, record, schema) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (record["disclosure_id"], record["referral_id"], data, sha),
            )
            return cursor.rowcount == 1

    def findings(self, referral_id: str, unsent_only: bool = False) -> list[dict[str, Any]]:
        """Findings of a referral in arrival order (optionally those not yet in a package)."""
        sql = "SELECT record, schema FROM findings WHERE referral_id = ?"
        sql += " AND addendum IS NULL" if unsent_only else ""
        return [
            self.codec.decode("mash.DisclosedInformation", bytes(r), bytes(s))
            for r, s in self._db.execute(f"{sql} ORDER BY {self._db.arrival}", (referral_id,))
        ]

    def mark_sent(self, referral_id: str, addendum: int) -> None:
        """Record which package carried the so-far unsent findings."""
        with self._lock:
            self._db.execute(
                "UPDATE findings SET addendum = ? WHERE referral_id = ? AND addendum IS NULL",
                (addendum, referral_id),
            )

    def _forget(self) -> None:
        """Forget decoded referrals: writes being undone may have changed them."""
        self._referrals.clear()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

"""The collator's durable state: open cases (JSON), the referral and findings (Avro)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from hub.codec import Codec
from hub.sqlite import open_durable


class CollatorState:
    """SQLite store; survives restarts so deadline timers are re-armed from it."""

    def __init__(self, path: Path, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self._db = open_durable(path)
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS cases (referral_id TEXT PRIMARY KEY, open INTEGER NOT NULL,
                case_json TEXT NOT NULL, referral BLOB NOT NULL, schema BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS cases_open ON cases (open);
            CREATE TABLE IF NOT EXISTS findings (disclosure_id TEXT PRIMARY KEY,
                referral_id TEXT NOT NULL, record BLOB NOT NULL, schema BLOB NOT NULL,
                addendum INTEGER);
            CREATE INDEX IF NOT EXISTS findings_referral ON findings (referral_id);
        """)
        self._lock = threading.Lock()

    def case(self, referral_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(case, referral) or None."""
        row = self._db.execute(
            "SELECT case_json, referral, schema FROM cases WHERE referral_id = ?", (referral_id,)
        ).fetchone()
        if row is None:
            return None
        return json.loads(row[0]), self.codec.decode("mash.Referral", bytes(row[1]), bytes(row[2]))

    def save(self, case: dict[str, Any], referral: dict[str, Any]) -> None:
        """Store a case durably."""
        data, sha = self.codec.encode("mash.Referral", referral)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?)",
                (
                    referral["referral_id"],
                    0 if case.get("closed") else 1,
                    json.dumps(case),
                    data,
                    sha,
                ),
            )

    def open_cases(self) -> list[str]:
        """Referral ids whose package or chasers may still be due."""
        return [r for (r,) in self._db.execute("SELECT referral_id FROM cases WHERE open = 1")]

    def add_finding(self, record: dict[str, Any]) -> bool:
        """Keep a DisclosedInformation; False if already kept (a redelivery)."""
        data, sha = self.codec.encode("mash.DisclosedInformation", record)
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO findings VALUES (?, ?, ?, ?, NULL)",
                (record["disclosure_id"], record["referral_id"], data, sha),
            )
            return cursor.rowcount == 1

    def findings(self, referral_id: str, unsent_only: bool = False) -> list[dict[str, Any]]:
        """Findings of a referral in arrival order (optionally those not yet in a package)."""
        sql = "SELECT record, schema FROM findings WHERE referral_id = ?"
        sql += " AND addendum IS NULL" if unsent_only else ""
        return [
            self.codec.decode("mash.DisclosedInformation", bytes(r), bytes(s))
            for r, s in self._db.execute(sql + " ORDER BY rowid", (referral_id,))
        ]

    def mark_sent(self, referral_id: str, addendum: int) -> None:
        """Record which package carried the so-far unsent findings."""
        with self._lock:
            self._db.execute(
                "UPDATE findings SET addendum = ? WHERE referral_id = ? AND addendum IS NULL",
                (addendum, referral_id),
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()

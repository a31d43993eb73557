"""An adapter's own durable state: which of its agency's concerns it has raised (or could not
raise, and why), and what the hub sent back to the agency — outcome feedback and, for police,
strategy products — kept for the agency's system to take (its outbox)."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.codec import Codec
from hub.sqlite import open_durable


class AdapterState:
    """SQLite store beside the adapter's replay protection."""

    def __init__(self, path: Path, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self._db = open_durable(path)
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS raised (source_reference TEXT PRIMARY KEY,
                referral_id TEXT, status TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS received (id TEXT PRIMARY KEY, schema_name TEXT NOT NULL,
                referral_id TEXT NOT NULL, at TEXT NOT NULL, record BLOB NOT NULL,
                schema BLOB NOT NULL);
        """)
        self._lock = threading.Lock()

    def handled(self) -> set[str]:
        """Source references already raised or refused (never raised again)."""
        return {r for (r,) in self._db.execute("SELECT source_reference FROM raised")}

    def mark(
        self, source_reference: str, referral_id: str | None, status: str, detail: str, at: datetime
    ) -> None:
        """Record that a concern was raised (status ``raised``) or refused (``invalid``)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO raised VALUES (?, ?, ?, ?, ?)",
                (source_reference, referral_id, status, detail, at.isoformat()),
            )

    def raised(self) -> list[dict[str, Any]]:
        """Every concern handled, oldest first."""
        rows = self._db.execute(
            "SELECT source_reference, referral_id, status, detail, at FROM raised ORDER BY at"
        )
        keys = ("source_reference", "referral_id", "status", "detail", "at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def receive(self, ident: str, schema_name: str, record: dict[str, Any], at: datetime) -> bool:
        """Keep feedback or a product for the agency; False if already kept (a redelivery)."""
        data, sha = self.codec.encode(schema_name, record)
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO received VALUES (?, ?, ?, ?, ?, ?)",
                (ident, schema_name, record["referral_id"], at.isoformat(), data, sha),
            )
            return cursor.rowcount == 1

    def received(self, schema_name: str) -> list[dict[str, Any]]:
        """What the hub sent of one type (mash.Feedback, mash.InformationProduct), in order."""
        rows = self._db.execute(
            "SELECT record, schema FROM received WHERE schema_name = ? ORDER BY at, rowid",
            (schema_name,),
        )
        return [self.codec.decode(schema_name, bytes(r), bytes(s)) for r, s in rows]

    def close(self) -> None:
        """Close the database."""
        self._db.close()

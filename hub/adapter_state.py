"""An adapter's own durable state: which of its agency's concerns it has raised (or could not
raise, and why), and what the hub sent back to the agency — outcome feedback and, for police,
strategy products — kept for the agency's system to take (its outbox)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from hub.codec import Codec
from hub.statedb import StateDB, StateWhere


class AdapterState:
    """SQLite (a path) or PostgreSQL store beside the adapter's replay protection."""

    def __init__(self, where: StateWhere, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self._db = StateDB(where)
        self._db.script(f"""
            CREATE TABLE IF NOT EXISTS raised (source_reference TEXT PRIMARY KEY,
                referral_id TEXT, status TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS received (id TEXT PRIMARY KEY, schema_name TEXT NOT NULL,
                referral_id TEXT NOT NULL, at TEXT NOT NULL, record BLOB NOT NULL,
                schema BLOB NOT NULL{self._db.arrival_column})
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
                "INSERT INTO raised (source_reference, referral_id, status, detail, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_reference) DO UPDATE SET "
                "referral_id = excluded.referral_id, status = excluded.status, "
                "detail = excluded.detail, at = excluded.at",
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
                "INSERT INTO received (id, schema_name, referral_id, at, record, schema) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (ident, schema_name, record["referral_id"], at.isoformat(), data, sha),
            )
            return cursor.rowcount == 1

    def received(self, schema_name: str) -> list[dict[str, Any]]:
        """What the hub sent of one type (mash.Feedback, mash.InformationProduct), in order."""
        rows = self._db.execute(
            f"SELECT record, schema FROM received WHERE schema_name = ? "
            f"ORDER BY at, {self._db.arrival}",
            (schema_name,),
        )
        return [self.codec.decode(schema_name, bytes(r), bytes(s)) for r, s in rows]

    def close(self) -> None:
        """Close the database."""
        self._db.close()

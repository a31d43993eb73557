"""What the firewall remembers about live referrals (inside the MASH only): the referral (Avro),
its current level, level history and the requests issued (JSON), and the agencies' responses."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from hub.codec import Codec
from hub.sqlite import open_durable


class FirewallState:
    """SQLite-backed referral state."""

    def __init__(self, path: Path, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self._db = open_durable(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS referrals (referral_id TEXT PRIMARY KEY, "
            "referral BLOB NOT NULL, schema BLOB NOT NULL, state TEXT NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (response_id TEXT PRIMARY KEY, "
            "referral_id TEXT NOT NULL, agency TEXT NOT NULL, record BLOB NOT NULL, "
            "schema BLOB NOT NULL)"
        )
        self._lock = threading.Lock()

    def referral(self, referral_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(the referral record, its state) or None."""
        row = self._db.execute(
            "SELECT referral, schema, state FROM referrals WHERE referral_id = ?", (referral_id,)
        ).fetchone()
        if row is None:
            return None
        return (
            self.codec.decode("mash.Referral", bytes(row[0]), bytes(row[1])),
            json.loads(row[2]),
        )

    def save(self, referral: dict[str, Any], state: dict[str, Any]) -> None:
        """Store (replace) a referral and its state durably."""
        data, sha = self.codec.encode("mash.Referral", referral)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO referrals VALUES (?, ?, ?, ?)",
                (referral["referral_id"], data, sha, json.dumps(state)),
            )

    def add_response(self, response: dict[str, Any]) -> bool:
        """Keep an agency response; False if it was already kept."""
        data, sha = self.codec.encode("mash.AgencyResponse", response)
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?)",
                (response["response_id"], response["referral_id"], response["agency"], data, sha),
            )
            return cursor.rowcount == 1

    def responses(self, referral_id: str) -> list[dict[str, Any]]:
        """Responses received for a referral, in arrival order."""
        rows = self._db.execute(
            "SELECT record, schema FROM responses WHERE referral_id = ? ORDER BY rowid",
            (referral_id,),
        )
        return [self.codec.decode("mash.AgencyResponse", bytes(r), bytes(s)) for r, s in rows]

    def close(self) -> None:
        """Close the database."""
        self._db.close()

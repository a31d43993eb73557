"""What the firewall remembers about live referrals (inside the MASH only): the referral (Avro),
its current level, level history, contacts, decisions and the requests issued (JSON), the
agencies' responses, the source references already raised (de-duplication) and the children's
pseudonyms (linking concerns about the same child)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hub.codec import Codec
from hub.decoded import DecodedCache
from hub.sqlite import GroupCommit
from hub.statedb import StateDB, StateWhere


class FirewallState(GroupCommit):
    """Referral state in SQLite (a path) or in PostgreSQL, shared by every instance."""

    def __init__(self, where: StateWhere, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self._referrals = DecodedCache()  # read once per response; changed only on re-plan
        self._db = StateDB(where)
        self._db.script(f"""
            CREATE TABLE IF NOT EXISTS referrals (referral_id TEXT PRIMARY KEY,
                referral BLOB NOT NULL, schema BLOB NOT NULL, state TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS responses (response_id TEXT PRIMARY KEY,
                referral_id TEXT NOT NULL, agency TEXT NOT NULL, record BLOB NOT NULL,
                schema BLOB NOT NULL{self._db.arrival_column});
            CREATE TABLE IF NOT EXISTS contacts (source TEXT NOT NULL, source_reference TEXT
                NOT NULL, referral_id TEXT NOT NULL, PRIMARY KEY (source, source_reference));
            CREATE TABLE IF NOT EXISTS children (pseudonym TEXT NOT NULL, referral_id TEXT NOT NULL,
                opened_at TEXT NOT NULL, PRIMARY KEY (pseudonym, referral_id));
            CREATE INDEX IF NOT EXISTS children_recent ON children (pseudonym, opened_at)
        """)
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make the writes inside one durable commit (one fsync instead of one per write);
        inside a group they simply join it."""
        if self._grouped:
            yield
            return
        self._db.begin()
        try:
            yield
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def erase(self, referral_id: str) -> dict[str, int]:
        """Remove everything held about one referral (IG's erasure): rows lost per table."""
        removed = self._db.delete_referral(
            ("referrals", "responses", "contacts", "children"), referral_id
        )
        self._referrals.clear()
        return removed

    def referral(self, referral_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(the referral record, its state) or None."""
        row = self._db.execute(
            "SELECT referral, schema, state FROM referrals WHERE referral_id = ?"
            + self._for_update,
            (referral_id,),
        ).fetchone()
        if row is None:
            return None
        data = bytes(row[0])
        referral = self._referrals.get(referral_id, data)
        if referral is None:
            referral = self.codec.decode("mash.Referral", data, bytes(row[1]))
            self._referrals.put(referral_id, data, referral)
        return referral, json.loads(row[2])

    def save(
        self,
        referral: dict[str, Any],
        state: dict[str, Any],
        encoded: tuple[bytes, bytes] | None = None,
    ) -> None:
        """Store (replace) a referral and its state durably; the referral is re-encoded only
        when it is not the record already stored (a response changes only the state), and
        not at all when ``encoded`` holds it as received (frame, writer schema SHA-256)."""
        if self._referrals.holds(referral["referral_id"], referral):
            with self._lock:
                updated = self._db.execute(
                    "UPDATE referrals SET state = ? WHERE referral_id = ?",
                    (json.dumps(state), referral["referral_id"]),
                )
            if updated.rowcount == 1:
                return  # else the row went with a rolled-back transaction: write it whole
        data, sha = encoded or self.codec.encode("mash.Referral", referral)
        self._referrals.put(referral["referral_id"], data, referral)
        with self._lock:
            self._db.execute(
                "INSERT INTO referrals (referral_id, referral, schema, state) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (referral_id) DO UPDATE SET referral = excluded.referral, "
                "schema = excluded.schema, state = excluded.state",
                (referral["referral_id"], data, sha, json.dumps(state)),
            )

    def add_response(
        self, response: dict[str, Any], encoded: tuple[bytes, bytes] | None = None
    ) -> bool:
        """Keep an agency response (as received, when ``encoded`` holds its frame and writer
        schema SHA-256); False if it was already kept."""
        data, sha = encoded or self.codec.encode("mash.AgencyResponse", response)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO responses (response_id, referral_id, agency, record, schema) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (response["response_id"], response["referral_id"], response["agency"], data, sha),
            )
            return cursor.rowcount == 1

    def responses(self, referral_id: str) -> list[dict[str, Any]]:
        """Responses received for a referral, in arrival order."""
        rows = self._db.execute(
            f"SELECT record, schema FROM responses WHERE referral_id = ? "
            f"ORDER BY {self._db.arrival}",
            (referral_id,),
        )
        return [self.codec.decode("mash.AgencyResponse", bytes(r), bytes(s)) for r, s in rows]

    def referral_for_source(self, source: str, source_reference: str) -> str | None:
        """The referral a source reference (e.g. a PPN number) was raised into, if any."""
        row = self._db.execute(
            "SELECT referral_id FROM contacts WHERE source = ? AND source_reference = ?",
            (source, source_reference),
        ).fetchone()
        return None if row is None else str(row[0])

    def add_source(self, source: str, source_reference: str, referral_id: str) -> None:
        """Remember that a source reference was raised into ``referral_id``."""
        with self._lock:
            self._db.execute(
                "INSERT INTO contacts (source, source_reference, referral_id) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (source, source_reference, referral_id),
            )

    def index_children(self, referral_id: str, pseudonyms: list[str], opened_at: str) -> None:
        """Index a referral by its children's pseudonyms (never their names); in PostgreSQL
        they stay locked until the batch commits (see referrals_about)."""
        self._hold_names(pseudonyms)
        with self._lock:
            self._db.executemany(
                "INSERT INTO children (pseudonym, referral_id, opened_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(p, referral_id, opened_at) for p in pseudonyms],
            )

    def prior_referrals(
        self, pseudonyms: list[str], since: str, besides: str, limit: int
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` referrals other than ``besides`` opened at or after ``since``
        (UTC ISO) about any of these children, newest first, each as a package shows it: id,
        opened_at, level now, the latest decision's outcome, contacts. The work is bounded by
        ``limit``, however often the children were referred (an index per child and time; the
        states are read by the database's JSON functions, not decoded here)."""
        if not pseudonyms:
            return []
        newest = " UNION ALL ".join(
            "SELECT * FROM (SELECT referral_id, opened_at FROM children WHERE pseudonym = ? "
            f"AND opened_at >= ? AND referral_id <> ? ORDER BY opened_at DESC LIMIT ?) AS n{i}"
            for i in range(len(pseudonyms))
        )
        rows = self._db.execute(
            newest, [v for p in pseudonyms for v in (p, since, besides, limit)]
        ).fetchall()
        ids = list(dict.fromkeys(str(r) for r, _ in sorted(rows, key=lambda r: r[1], reverse=True)))
        if not ids:
            return []
        ids = ids[:limit]
        marks = ",".join("?" * len(ids))
        if self._db.dialect == "sqlite":
            summaries = (
                "SELECT referral_id, json_extract(state, '$.opened_at'), "
                "json_extract(state, '$.level'), json_extract(state, '$.decisions[#-1].outcome'), "
                "json_array_length(state, '$.contacts') "
                f"FROM referrals WHERE referral_id IN ({marks})"
            )
        else:
            summaries = (
                "SELECT referral_id, j->>'opened_at', j->>'level', j->'decisions'->-1->>'outcome', "
                "jsonb_array_length(j->'contacts') FROM (SELECT referral_id, state::jsonb AS j "
                f"FROM referrals WHERE referral_id IN ({marks})) AS r"
            )
        found = {str(r[0]): r for r in self._db.execute(summaries, ids)}
        return [
            {
                "referral_id": rid,
                "opened_at": found[rid][1],
                "level": found[rid][2],
                "outcome": found[rid][3],
                "contacts": max(int(found[rid][4] or 1), 1),
            }
            for rid in ids
            if rid in found
        ]

    def referrals_about(self, pseudonyms: list[str], since: str) -> list[str]:
        """Referrals opened at or after ``since`` (UTC ISO) about any of these children,
        newest first. In PostgreSQL within a batch the children are locked first, so two
        instances with concerns about one child at once find each other's referral instead of
        opening one each: the second waits until the first's batch commits."""
        if not pseudonyms:
            return []
        self._hold_names(pseudonyms)
        marks = ",".join("?" * len(pseudonyms))
        rows = self._db.execute(
            f"SELECT referral_id, max(opened_at) AS at FROM children WHERE pseudonym IN ({marks})"
            " AND opened_at >= ? GROUP BY referral_id ORDER BY at DESC",
            (*pseudonyms, since),
        )
        return [str(r) for r, _ in rows]

    def _forget(self) -> None:
        """Forget decoded referrals: writes being undone may have changed them."""
        self._referrals.clear()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

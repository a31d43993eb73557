"""The embedded agency source: one SQLite database per agency (people and typed records)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hub.matching import Candidate
from hub.matching.identifiers import normalise_nhs, normalise_pnc
from hub.matching.names import surname_key
from hub.sources.base import SourceUnavailable

DATE_FIELDS = {"recorded_on", "found_on", "registered_since", "ends_on", "resolved_on"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    person_id TEXT PRIMARY KEY, given_names TEXT NOT NULL, family_name TEXT NOT NULL,
    other_names TEXT NOT NULL, dob TEXT, postcode TEXT NOT NULL, surname_key TEXT NOT NULL,
    nhs_number TEXT, upn TEXT, pnc_id TEXT, address TEXT NOT NULL, household TEXT);
CREATE INDEX IF NOT EXISTS people_dob ON people (dob);
CREATE INDEX IF NOT EXISTS people_surname ON people (surname_key);
CREATE INDEX IF NOT EXISTS people_postcode ON people (postcode);
CREATE INDEX IF NOT EXISTS people_nhs ON people (nhs_number);
CREATE INDEX IF NOT EXISTS people_upn ON people (upn);
CREATE INDEX IF NOT EXISTS people_pnc ON people (pnc_id);
CREATE TABLE IF NOT EXISTS records (
    person_id TEXT NOT NULL, category TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_person ON records (person_id);
CREATE TABLE IF NOT EXISTS concerns (
    source_reference TEXT PRIMARY KEY, raised_at TEXT NOT NULL, raised_by TEXT NOT NULL,
    organisation TEXT NOT NULL, role TEXT NOT NULL, concern TEXT NOT NULL,
    indicators TEXT NOT NULL, consent TEXT NOT NULL, subjects TEXT NOT NULL);
"""


def _to_json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def _from_json(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (date.fromisoformat(v) if k in DATE_FIELDS and isinstance(v, str) else v)
        for k, v in record.items()
    }


class SqliteSource:
    """People and records of one agency in SQLite (read-only for the adapter)."""

    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = path
        if not create and not path.is_file():
            raise SourceUnavailable(
                f"agency database {path} does not exist "
                "(run `mash sources generate` or `mash sources import`)"
            )
        try:
            uri = f"file:{path}?mode={'rwc' if create else 'ro'}"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=2.0)
            if create:
                self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise SourceUnavailable(f"cannot open agency database {path}: {exc}") from exc

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def check(self) -> None:
        """Raise SourceUnavailable unless a query succeeds now."""
        try:
            self._db.execute("SELECT count(*) FROM people").fetchone()
        except sqlite3.Error as exc:
            raise SourceUnavailable(f"agency database {self.path}: {exc}") from exc

    def _query(self, sql: str, params: Iterable[Any]) -> list[Any]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise SourceUnavailable(f"agency database {self.path}: {exc}") from exc

    def candidates(self, subject: dict[str, Any]) -> list[Candidate]:
        """People sharing an identifier, a DOB (or its day/month swap), surname sound or
        postcode with the subject."""
        ids = subject.get("identifiers") or {}
        dob: date | None = subject.get("date_of_birth")
        dobs = [dob.isoformat()] if dob else []
        if dob and dob.day <= 12 and dob.day != dob.month:
            dobs.append(date(dob.year, dob.day, dob.month).isoformat())
        clauses, params = [], []
        for column, value in (
            ("nhs_number", ids.get("nhs_number") and normalise_nhs(ids["nhs_number"])),
            ("upn", ids.get("upn") and ids["upn"].strip().upper()),
            ("pnc_id", ids.get("pnc_id") and normalise_pnc(ids["pnc_id"])),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        for d in dobs:
            clauses.append("dob = ?")
            params.append(d)
        key = surname_key(subject.get("family_name", ""))
        postcode = ((subject.get("address") or {}).get("postcode") or "").upper()
        if key and postcode:
            clauses.append("(surname_key = ? AND postcode = ?)")
            params += [key, postcode]
        if not clauses:
            return []
        rows = self._query(
            "SELECT person_id, given_names, family_name, other_names, dob, "
            "postcode, nhs_number, upn, pnc_id FROM people WHERE "
            + " OR ".join(clauses)
            + " LIMIT 500",
            params,
        )
        return [
            Candidate(
                person_id=r[0],
                given_names=r[1],
                family_name=r[2],
                other_names=tuple(json.loads(r[3])),
                date_of_birth=date.fromisoformat(r[4]) if r[4] else None,
                postcode=r[5],
                identifiers={
                    k: v for k, v in (("nhs_number", r[6]), ("upn", r[7]), ("pnc_id", r[8])) if v
                },
            )
            for r in rows
        ]

    def records(self, person_id: str) -> dict[str, list[dict[str, Any]]]:
        """Records of one person by category field name."""
        out: dict[str, list[dict[str, Any]]] = {}
        for category, body in self._query(
            "SELECT category, record FROM records WHERE person_id = ? ORDER BY rowid", (person_id,)
        ):
            out.setdefault(category, []).append(_from_json(json.loads(body)))
        return out

    def concerns(self) -> list[dict[str, Any]]:
        """Concerns raised in the agency's system, oldest first (none in an older database)."""
        try:
            rows = self._db.execute(
                "SELECT source_reference, raised_at, raised_by, organisation, role, concern, "
                "indicators, consent, subjects FROM concerns ORDER BY raised_at, rowid"
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise SourceUnavailable(f"agency database {self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise SourceUnavailable(f"agency database {self.path}: {exc}") from exc
        return [
            {
                "source_reference": r[0],
                "raised_at": datetime.fromisoformat(r[1]),
                "raised_by": r[2],
                "organisation": r[3],
                "role": r[4],
                "concern": r[5],
                "indicators": json.loads(r[6]),
                "consent": json.loads(r[7]),
                "subjects": [
                    {
                        **s,
                        "date_of_birth": date.fromisoformat(s["date_of_birth"])
                        if s.get("date_of_birth")
                        else None,
                    }
                    for s in json.loads(r[8])
                ],
            }
            for r in rows
        ]

    def add_concern(self, concern: dict[str, Any]) -> None:
        """Record a concern raised in the agency's system (the embedded default's input)."""
        with self._db:
            self._db.execute(
                "INSERT INTO concerns VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    concern["source_reference"],
                    concern["raised_at"].isoformat(),
                    concern["raised_by"],
                    concern["organisation"],
                    concern["role"],
                    concern["concern"],
                    json.dumps(concern["indicators"]),
                    json.dumps(concern["consent"]),
                    json.dumps(_to_json(concern["subjects"])),
                ),
            )

    def add_people(self, people: Iterable[dict[str, Any]]) -> int:
        """Insert people (with their ``records`` by category) in one transaction."""
        count = 0
        with self._db:
            for p in people:
                ids = p.get("identifiers") or {}
                address = p.get("address") or {}
                dob = p.get("date_of_birth")
                self._db.execute(
                    "INSERT OR REPLACE INTO people VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        p["person_id"],
                        p["given_names"],
                        p["family_name"],
                        json.dumps(p.get("other_names", [])),
                        dob.isoformat() if isinstance(dob, date) else dob,
                        (address.get("postcode") or "").upper(),
                        surname_key(p["family_name"]),
                        ids.get("nhs_number"),
                        ids.get("upn"),
                        ids.get("pnc_id"),
                        json.dumps(_to_json(address)),
                        p.get("household"),
                    ),
                )
                self._db.execute("DELETE FROM records WHERE person_id = ?", (p["person_id"],))
                self._db.executemany(
                    "INSERT INTO records VALUES (?,?,?)",
                    [
                        (p["person_id"], category, json.dumps(_to_json(r)))
                        for category, records in (p.get("records") or {}).items()
                        for r in records
                    ],
                )
                count += 1
        return count

    def people(self, where: str = "", params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """People rows as dicts (for building sample referrals from generated data)."""
        rows = self._query(
            "SELECT person_id, given_names, family_name, dob, address, "
            "nhs_number, upn, pnc_id, household FROM people" + (f" WHERE {where}" if where else ""),
            params,
        )
        return [
            {
                "person_id": r[0],
                "given_names": r[1],
                "family_name": r[2],
                "date_of_birth": date.fromisoformat(r[3]) if r[3] else None,
                "address": json.loads(r[4]),
                "identifiers": {"nhs_number": r[5], "upn": r[6], "pnc_id": r[7]},
                "household": r[8],
            }
            for r in rows
        ]

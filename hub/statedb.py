"""A service's state database: SQLite in the state folder (one host), or a schema of its own
in PostgreSQL, which every instance of the service shares on any host (scale-out across hosts:
whichever instance a referral's partition moves to finds its state)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

from hub.dbconn import Connection, connect_postgres
from hub.sqlite import open_durable

_POSTGRES_URL = ("postgresql://", "postgres://")
LOCK_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class PostgresState:
    """Where a store lives in PostgreSQL: the server and the service's own schema."""

    url: str
    schema: str

    def __post_init__(self) -> None:
        if not self.url.startswith(_POSTGRES_URL):
            raise ValueError("a PostgreSQL state URL starts with postgresql://")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.schema):
            raise ValueError(f"not a usable schema name: {self.schema!r}")


StateWhere = Path | PostgresState


class Cursor(Protocol):
    """What a statement gives back on either database."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """Every remaining row."""

    def __iter__(self) -> Iterator[Any]:
        """The rows one by one."""


def schema_for(service: str) -> str:
    """A service's folder name (``firewall``, ``adapter-police``, ``ns.collator``) as the name
    of its PostgreSQL schema."""
    name = re.sub(r"[^a-z0-9_]", "_", service.lower())
    return name if re.match(r"[a-z_]", name) else f"s_{name}"


class StateDB:
    """One connection, SQLite's statements (``?`` marks, ``ON CONFLICT`` upserts) on either
    database; writes outside begin()/commit() are committed one by one."""

    dialect: Literal["sqlite", "postgresql"]

    def __init__(self, where: StateWhere, what: str = "state") -> None:
        if isinstance(where, PostgresState):
            self.dialect = "postgresql"
            name = f"{what} {where.schema}"
            self._db = Connection(partial(_connect_postgres, where), name)
        else:
            self.dialect = "sqlite"
            name = f"{what} {where.parent.name}/{where.name}"
            self._db = Connection(partial(open_durable, where), name)

    @property
    def arrival(self) -> str:
        """The column that orders a table's rows as they were inserted."""
        return "rowid" if self.dialect == "sqlite" else "arrival"

    @property
    def arrival_column(self) -> str:
        """DDL for that column (SQLite has its rowid already)."""
        return "" if self.dialect == "sqlite" else ", arrival BIGSERIAL"

    def _sql(self, statement: str) -> str:
        if self.dialect == "sqlite":
            return statement
        return statement.replace("?", "%s").replace(" BLOB", " BYTEA")

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; its cursor."""
        cursor: Cursor = self._db.execute(self._sql(statement), params)
        return cursor

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row."""
        if rows:
            self._db.executemany(self._sql(statement), rows)

    def script(self, statements: str) -> None:
        """Create tables and indexes (``;``-separated, no parameters), idempotently."""
        parts = [s.strip() for s in statements.split(";") if s.strip()]
        if self.dialect == "sqlite":
            for statement in parts:
                self._db.execute(statement)
            return
        self._db.execute("SELECT pg_advisory_lock(4243)")  # two instances creating at once
        try:
            for statement in parts:
                self._db.execute(self._sql(statement))
        finally:
            self._db.execute("SELECT pg_advisory_unlock(4243)")

    def add_column(self, table: str, column: str, kind: str) -> None:
        """Add a nullable column to a table made by an earlier version, if it lacks it."""
        if self.dialect == "postgresql":
            self.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
            return
        present = {row[1] for row in self.execute(f"PRAGMA table_info({table})")}
        if column in present:
            return
        try:
            self.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except sqlite3.OperationalError as exc:  # another instance added it meanwhile
            if "duplicate column" not in str(exc):
                raise

    def begin(self) -> None:
        """Open a transaction (SQLite takes its write lock at once)."""
        self._db.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")

    def commit(self) -> None:
        """Make the transaction durable."""
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        """Undo the open transaction, if any (an outage may have ended it already)."""
        self._db.rollback()

    def delete_referral(self, tables: Sequence[str], referral_id: str) -> dict[str, int]:
        """Remove one referral's rows from ``tables`` in one transaction (an erasure): how many
        rows each lost."""
        removed = {}
        self.begin()
        try:
            for table in tables:
                cursor = self.execute(f"DELETE FROM {table} WHERE referral_id = ?", (referral_id,))
                removed[table] = max(cursor.rowcount, 0)
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return removed

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


def _connect_postgres(where: PostgresState) -> Any:
    """A connection to the service's own schema (created on first use)."""
    db = connect_postgres(where.url)
    db.execute("SELECT pg_advisory_lock(4243)")  # instances start together
    try:
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{where.schema}"')
    finally:
        db.execute("SELECT pg_advisory_unlock(4243)")
    db.execute(f'SET search_path TO "{where.schema}"')
    # A row another instance holds (FOR UPDATE) is waited for this long, then the batch is an
    # outage (LockNotAvailable: undone, redone after a backoff), never a wait without end on
    # an instance that hangs, or on one sharing this process's event loop.
    db.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
    return db


def is_postgres_url(value: str | None) -> bool:
    """Whether ``value`` names a PostgreSQL server."""
    return bool(value) and str(value).startswith(_POSTGRES_URL)

"""A database failing under a service (a SQLite file locked by another process, a PostgreSQL
connection dropped by a restart) is StoreUnavailable, not the statement's error; the next use
reconnects, and writes held for a batch are undone cleanly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import hub.sqlite
from hub.dbconn import transient
from hub.errors import StoreUnavailable
from hub.firewall.state import FirewallState
from hub.statedb import PostgresState, StateDB, schema_for


def test_a_locked_sqlite_file_is_an_outage_and_a_bad_statement_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another process holds the write lock past the busy timeout, writing raises
    StoreUnavailable; a wrong statement raises SQLite's own error; after the lock is released
    the same store writes again."""
    monkeypatch.setattr(hub.sqlite, "BUSY_TIMEOUT_S", 0.1)
    db = StateDB(tmp_path / "firewall" / "state.db")
    db.script("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)")
    other = sqlite3.connect(tmp_path / "firewall" / "state.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreUnavailable, match=r"firewall/state\.db unavailable: SQLITE_BUSY"):
        db.begin()
    with pytest.raises(sqlite3.OperationalError, match="syntax"):
        db.execute("SELEC 1")
    other.execute("ROLLBACK")
    db.begin()
    db.execute("INSERT INTO t VALUES (?)", ("a",))
    db.commit()
    assert db.execute("SELECT k FROM t").fetchall() == [("a",)]
    db.close()
    other.close()


def test_what_counts_as_an_outage() -> None:
    """Busy, locked, I/O and full are outages; a syntax error or a missing table is a bug."""
    db = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as bad:
        db.execute("SELECT * FROM nowhere")
    assert not transient(bad.value)
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
    assert transient(busy)
    assert not transient(ValueError("not a database error"))


def test_a_dropped_postgresql_connection_is_an_outage_and_the_next_use_reconnects(
    postgres_url: str,
) -> None:
    """A connection the server terminated raises StoreUnavailable once; the next statement
    runs on a new connection, in the service's own schema."""
    import psycopg

    where = PostgresState(postgres_url, schema_for("outage_reconnect"))
    db = StateDB(where)
    db.script("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)")
    db.execute("INSERT INTO t VALUES (?) ON CONFLICT DO NOTHING", ("a",))
    pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StoreUnavailable, match="state outage_reconnect unavailable"):
        db.execute("SELECT k FROM t")
    assert db.execute("SELECT k FROM t").fetchall() == [("a",)]
    assert db.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    db.close()


def test_a_batch_cut_off_by_an_outage_is_undone(postgres_url: str) -> None:
    """The firewall's writes held for a batch, lost with the connection before their commit,
    leave nothing behind; rolled back, the store takes the next batch."""
    import psycopg

    state = FirewallState(PostgresState(postgres_url, schema_for("outage_batch")))
    state.begin_group()
    state.index_children("r-1", ["child-1"], "2026-11-24T09:00:00+00:00")
    pid = state._db.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StoreUnavailable):
        state.commit_group()
    state.rollback_group()
    assert state.referrals_about(["child-1"], "2026-01-01") == []
    state.begin_group()
    state.index_children("r-2", ["child-1"], "2026-11-24T09:01:00+00:00")
    state.commit_group()
    assert state.referrals_about(["child-1"], "2026-01-01") == ["r-2"]
    state.close()


def test_the_database_password_comes_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that asks for a password is reached with the one in MASH_DB_PASSWORD_FILE
    (a container secret), by the state and by the disclosure log, and refused without it;
    an unreadable file is a clear error."""
    import psycopg

    from hub.dbconn import PASSWORD_FILE_ENV
    from hub.disclosure_log import DisclosureLog
    from tests.postgres import postgres_server

    with postgres_server(password="s3cret-for-tests") as url:
        with pytest.raises(psycopg.OperationalError, match="password"):
            StateDB(PostgresState(url, "no_password"))
        secret = tmp_path / "postgres.secret"
        secret.write_text("s3cret-for-tests\n")
        monkeypatch.setenv(PASSWORD_FILE_ENV, str(secret))
        state = StateDB(PostgresState(url, "with_password"))
        assert state.execute("SELECT 1").fetchone()[0] == 1
        state.close()
        log = DisclosureLog(url)
        assert log.size() == 0
        log.close()
        monkeypatch.setenv(PASSWORD_FILE_ENV, str(tmp_path / "missing.secret"))
        with pytest.raises(ValueError, match="cannot read MASH_DB_PASSWORD_FILE"):
            StateDB(PostgresState(url, "missing"))

"""A state or log database connection that outlives an outage: a failure of the database itself
(server restarting or unreachable, file locked by another process, disk full) is raised as
StoreUnavailable, and the next use reconnects; a bad statement stays the error it is."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hub.errors import StoreUnavailable

# SQLite's primary result codes that mean "the database, not the statement": try again later.
_SQLITE_TRANSIENT = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)


PASSWORD_FILE_ENV = "MASH_DB_PASSWORD_FILE"


def connect_postgres(url: str) -> Any:
    """An autocommit psycopg connection to ``url``. The password comes from the file that
    MASH_DB_PASSWORD_FILE names (a container secret), so that no URL carries it."""
    import psycopg

    secret = os.environ.get(PASSWORD_FILE_ENV)
    if not secret:
        return psycopg.connect(url, autocommit=True)
    try:
        password = Path(secret).read_text().strip()
    except OSError as exc:
        raise ValueError(f"cannot read {PASSWORD_FILE_ENV} {secret}: {exc.strerror}") from exc
    return psycopg.connect(url, autocommit=True, password=password)


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing rather than the statement being wrong."""
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_TRANSIENT
    psycopg = sys.modules.get("psycopg")
    lost = (psycopg.OperationalError, psycopg.InterfaceError) if psycopg else ()
    return isinstance(exc, lost)


class Connection:
    """One connection made by ``connect`` (SQLite or psycopg, autocommit); ``what`` names the
    store in errors. After a failure that broke it (PostgreSQL), the next use reconnects."""

    def __init__(self, connect: Callable[[], Any], what: str) -> None:
        self._connect = connect
        self.what = what
        self._db: Any = connect()

    def _conn(self) -> Any:
        if self._db is None:
            try:
                self._db = self._connect()
            except Exception as exc:
                self._failed(exc)
                raise
        return self._db

    def _failed(self, exc: BaseException) -> None:
        """Raise StoreUnavailable for an outage (dropping a broken connection); else return."""
        if not transient(exc):
            return
        db = self._db
        if db is not None and (getattr(db, "closed", False) or getattr(db, "broken", False)):
            self._db = None
            with contextlib.suppress(Exception):  # it is gone already
                db.close()
        cause = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
        raise StoreUnavailable(f"{self.what} unavailable: {cause}") from exc

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; its cursor."""
        try:
            return self._conn().execute(statement, tuple(params))
        except Exception as exc:
            self._failed(exc)
            raise

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row."""
        try:
            self._conn().cursor().executemany(statement, rows)
        except Exception as exc:
            self._failed(exc)
            raise

    def rollback(self) -> None:
        """Undo the open transaction, if any; a connection lost meanwhile has undone it."""
        db = self._db
        if db is None:
            return
        if isinstance(db, sqlite3.Connection):
            if not db.in_transaction:
                return
        elif db.info.transaction_status == 0:  # psycopg: IDLE, nothing open
            return
        try:
            db.execute("ROLLBACK")
        except Exception as exc:
            self._failed(exc)
            raise

    def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

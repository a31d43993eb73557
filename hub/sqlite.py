"""SQLite connections for service state: WAL, full fsync on commit, autocommit mode (callers
open their own transactions), usable from the service's worker threads."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_durable(path: Path) -> sqlite3.Connection:
    """A connection whose committed writes survive a crash or power loss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db

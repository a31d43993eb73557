"""The disclosure log on PostgreSQL: the same guarantees as on SQLite."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.disclosure_log import AppendOnlyViolation, DisclosureLog, sign_checkpoint, verify_log

KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def url(postgres_url: str) -> str:
    """A fresh database per test."""
    name = "log_" + uuid.uuid4().hex[:8]
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def _fill(url: str, n: int = 8) -> DisclosureLog:
    log = DisclosureLog(url)
    log.append(
        [
            {
                "entry_id": f"e{i}",
                "correlation_id": "ref",
                "at": f"t{i}",
                "operation": "withhold",
                "subject_pseudonyms": ["ps:x"],
            }
            for i in range(n)
        ]
    )
    size, root, chain = log.root()
    log.add_checkpoint(sign_checkpoint("test", size, root, chain, KEY))
    return log


def test_postgres_log_verifies_and_is_append_only(url: str) -> None:
    """Clean log verifies; UPDATE, DELETE and TRUNCATE are refused by the database."""
    log = _fill(url)
    assert verify_log(log, [KEY.public_key()]).ok
    assert log.append([{"entry_id": "e1", "correlation_id": "ref", "at": "t"}]) == 0
    for statement in ("UPDATE entries SET body = '{}'", "DELETE FROM entries", "TRUNCATE entries"):
        with pytest.raises(AppendOnlyViolation):
            log.try_update(statement)
    assert [e.seq for e in log.by_pseudonym(["ps:x"])] == list(range(1, 9))
    log.close()


def test_postgres_tampering_by_a_superuser_is_found(url: str) -> None:
    """A superuser who disables the trigger and edits an entry is caught by verify."""
    log = _fill(url)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("ALTER TABLE entries DISABLE TRIGGER entries_append_only")
        db.execute("UPDATE entries SET body = replace(body, 'withhold', 'disclose') WHERE seq = 5")
    report = verify_log(log, [KEY.public_key()])
    assert report.first_bad_entry == 5 and "modified" in report.problems[0]
    log.close()

"""SQL for the two log stores: SQLite (embedded default) and PostgreSQL (production). Both
make the database itself refuse UPDATE and DELETE with triggers."""

from __future__ import annotations

from dataclasses import dataclass

_TABLES = ("entries", "subjects", "referral_subjects", "checkpoints")

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, entry_id TEXT NOT NULL UNIQUE,
    correlation_id TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL, leaf BLOB NOT NULL,
    chain BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS entries_correlation ON entries (correlation_id);
CREATE TABLE IF NOT EXISTS subjects (seq INTEGER NOT NULL, pseudonym TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS subjects_pseudonym ON subjects (pseudonym);
CREATE TABLE IF NOT EXISTS referral_subjects (pseudonym TEXT NOT NULL,
    correlation_id TEXT NOT NULL, PRIMARY KEY (pseudonym, correlation_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} BEGIN SELECT "
    f"RAISE(ABORT, 'disclosure log is append-only: {op} refused'); END;\n"
    for t in _TABLES
    for op in ("UPDATE", "DELETE")
)

POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (seq BIGINT PRIMARY KEY, entry_id TEXT NOT NULL UNIQUE,
    correlation_id TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL, leaf BYTEA NOT NULL,
    chain BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS entries_correlation ON entries (correlation_id);
CREATE TABLE IF NOT EXISTS subjects (seq BIGINT NOT NULL, pseudonym TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS subjects_pseudonym ON subjects (pseudonym);
CREATE TABLE IF NOT EXISTS referral_subjects (pseudonym TEXT NOT NULL,
    correlation_id TEXT NOT NULL, PRIMARY KEY (pseudonym, correlation_id));
CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
CREATE OR REPLACE FUNCTION mash_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'disclosure log is append-only: % refused', TG_OP; END $$;
""" + "".join(
    f"DROP TRIGGER IF EXISTS {t}_append_only ON {t};\n"
    f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION mash_append_only();\n"
    for t in _TABLES
)


@dataclass(frozen=True)
class Dialect:
    """The statements that differ between the two databases."""

    name: str
    schema: str
    mark: str  # parameter placeholder
    begin: str
    insert_checkpoint: str
    insert_subject: str

    def sql(self, statement: str) -> str:
        """Translate '?' placeholders to this dialect's."""
        return statement.replace("?", self.mark)


SQLITE = Dialect(
    "sqlite",
    SQLITE_SCHEMA,
    "?",
    "BEGIN IMMEDIATE",
    "INSERT OR IGNORE INTO checkpoints VALUES (?, ?)",
    "INSERT OR IGNORE INTO referral_subjects VALUES (?, ?)",
)
POSTGRES = Dialect(
    "postgresql",
    POSTGRES_SCHEMA,
    "%s",
    "BEGIN",
    "INSERT INTO checkpoints VALUES (%s, %s) ON CONFLICT DO NOTHING",
    "INSERT INTO referral_subjects VALUES (%s, %s) ON CONFLICT DO NOTHING",
)

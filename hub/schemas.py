"""The Avro schema registry: current schemas from `schemas/`, released versions from
`schemas/history/`, and their fingerprints.

Integrity uses SHA-256 of the FULL schema JSON (logical types, defaults and docs included): the
Avro parsing canonical form drops logical types, so a `date` and an `int` would share a CRC-64.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from fastavro.schema import fingerprint, load_schema, parse_schema, to_parsing_canonical_form

from hub.paths import project_root

MESSAGE_TYPES = (
    "mash.Referral",
    "mash.InformationRequest",
    "mash.AgencyResponse",
    "mash.DisclosedInformation",
    "mash.InformationPackage",
    "mash.Notification",
    "mash.Quarantined",
    "mash.CaseOpened",
    "mash.Chaser",
    "mash.Relevel",
    "mash.Checkpoint",
    "mash.CaseDecision",
    "mash.InformationProduct",
    "mash.Feedback",
    "mash.Correction",
)
ENVELOPE_TYPES = ("mash.EnvelopeHeader", "mash.SealedMessage")


def schemas_dir() -> Path:
    """Where the .avsc files live (env MASH_SCHEMAS_DIR, else `schemas/` of the checkout)."""
    if env := os.environ.get("MASH_SCHEMAS_DIR"):
        return Path(env)
    root = project_root()
    for candidate in ([root / "schemas"] if root else []) + [Path("/opt/mash/schemas")]:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("cannot find the Avro schemas; set MASH_SCHEMAS_DIR")


def canonical_json(schema: Any) -> str:
    """Deterministic JSON of a full (expanded) schema, the input of its SHA-256."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one named type, parsed and fingerprinted."""

    name: str
    version: int | None  # None: the current, possibly unreleased schema
    full: dict[str, Any]
    parsed: Any
    sha256: bytes
    crc64: bytes

    @classmethod
    def from_full(cls, name: str, version: int | None, full: dict[str, Any]) -> SchemaVersion:
        """Parse and fingerprint an expanded schema."""
        parsed = parse_schema(full)
        crc = fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")
        return cls(
            name=name,
            version=version,
            full=full,
            parsed=parsed,
            sha256=hashlib.sha256(canonical_json(full).encode()).digest(),
            crc64=bytes.fromhex(crc),
        )


class SchemaRegistry:
    """Every known version of every message type, by name and by SHA-256."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or schemas_dir()
        self._current: dict[str, SchemaVersion] = {}
        self._by_sha: dict[bytes, SchemaVersion] = {}
        self._history: dict[str, list[SchemaVersion]] = {}
        for name in (*MESSAGE_TYPES, *ENVELOPE_TYPES):
            full = cast(
                dict[str, Any], load_schema(str(self.folder / f"{name}.avsc"), _write_hint=False)
            )
            current = SchemaVersion.from_full(name, None, full)
            self._current[name] = current
            self._by_sha[current.sha256] = current
            released = []
            for file in sorted(
                (self.folder / "history" / name).glob("v*.avsc"), key=lambda p: int(p.stem[1:])
            ):
                old = SchemaVersion.from_full(
                    name, int(file.stem[1:]), json.loads(file.read_text())
                )
                released.append(old)
                self._by_sha.setdefault(old.sha256, old)
            self._history[name] = released

    def current(self, name: str) -> SchemaVersion:
        """The schema writers use now."""
        try:
            return self._current[name]
        except KeyError:
            raise KeyError(f"unknown message type {name!r}") from None

    def by_sha256(self, digest: bytes) -> SchemaVersion | None:
        """A known writer schema (current or released) by its SHA-256, else None."""
        return self._by_sha.get(digest)

    def history(self, name: str) -> list[SchemaVersion]:
        """Released versions of ``name``, oldest first."""
        return list(self._history[name])

    def names(self) -> tuple[str, ...]:
        """All registered type names."""
        return tuple(self._current)

    def release(self, name: str) -> int | None:
        """Record the current schema as the next released version; None if unchanged."""
        current = self._current[name]
        released = self._history[name]
        if released and released[-1].sha256 == current.sha256:
            return None
        version = (released[-1].version or 0) + 1 if released else 1
        folder = self.folder / "history" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"v{version}.avsc").write_text(json.dumps(current.full, indent=2) + "\n")
        return version


@cache
def default_registry() -> SchemaRegistry:
    """The registry over the project's schemas, loaded once per process."""
    return SchemaRegistry()

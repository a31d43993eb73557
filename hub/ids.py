"""Deterministic ids, formatted as UUID strings without building UUID objects: the firewall
derives a dozen per referral (output, request and log-entry ids), ~11 us each with uuid5."""

from __future__ import annotations

import hashlib
import uuid


def _dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


def name_id(namespace: uuid.UUID, name: str) -> str:
    """Exactly ``str(uuid.uuid5(namespace, name))`` (RFC 4122 name-based, SHA-1)."""
    digest = hashlib.sha1(namespace.bytes + name.encode()).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 0x3]
    return _dashed(f"{digest[:12]}5{digest[13:16]}{variant}{digest[17:32]}")


def custom_id(raw: bytes) -> str:
    """``raw`` (16 bytes) as a version-8 (custom, RFC 9562) UUID string with the RFC variant."""
    digest = raw.hex()
    variant = "89ab"[int(digest[16], 16) & 0x3]
    return _dashed(f"{digest[:12]}8{digest[13:16]}{variant}{digest[17:32]}")

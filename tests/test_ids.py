"""Fast deterministic ids equal the standard library's UUIDs, so stored ids never change."""

from __future__ import annotations

import os
import uuid

from hub.ids import custom_id, name_id

NAMESPACE = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680001")


def test_name_id_is_uuid5() -> None:
    """name_id gives the very string uuid5 gives, for many names (ASCII and not)."""
    for i in range(5000):
        name = f"{uuid.UUID(bytes=os.urandom(16))}:{i}:é"
        assert name_id(NAMESPACE, name) == str(uuid.uuid5(NAMESPACE, name))


def test_custom_id_is_a_version_8_uuid_of_the_bytes() -> None:
    """custom_id sets version 8 and the RFC variant, keeping every other bit of the bytes."""
    for _ in range(5000):
        raw = bytearray(os.urandom(16))
        expected = raw.copy()
        expected[6] = (expected[6] & 0x0F) | 0x80
        expected[8] = (expected[8] & 0x3F) | 0x80
        made = uuid.UUID(custom_id(bytes(raw)))
        assert made.bytes == bytes(expected)
        assert made.version == 8
        assert made.variant == uuid.RFC_4122

"""Avro encoding for MASH messages: strict writing, single-object framing, schema resolution.

Frame: 0xC3 0x01, the 8-byte CRC-64-AVRO fingerprint of the writer schema, then the body
(Avro single-object encoding; fastavro has no helper, fastavro #501).
"""

from __future__ import annotations

import io
from typing import Any, cast

from fastavro import schemaless_reader, schemaless_writer

from hub.codec_hints import Hint, union_hints
from hub.codec_parts import Parts, Shared, parts_for
from hub.errors import MessageRejected, RejectReason
from hub.schemas import SchemaRegistry, SchemaVersion, default_registry

MAGIC = b"\xc3\x01"
_FRAME_HEADER = len(MAGIC) + 8


def fill_defaults(schema: Any, value: Any, named: dict[str, Any] | None = None) -> Any:
    """``value`` with every missing field that has a schema default filled in (recursively);
    for records written by people (a referral file), before the strict check."""
    named = {} if named is None else named
    if isinstance(schema, str):
        schema = named.get(schema, schema)
    if isinstance(schema, list):
        for branch in schema:
            if (
                isinstance(branch, dict)
                and branch.get("type") == "record"
                and isinstance(value, dict)
            ):
                return fill_defaults(branch, value, named)
            if (
                isinstance(branch, str)
                and isinstance(named.get(branch), dict)
                and isinstance(value, dict)
            ):
                return fill_defaults(named[branch], value, named)
        return value
    if not isinstance(schema, dict):
        return value
    kind = schema.get("type")
    if kind == "record":
        named[schema["name"]] = schema
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for field in schema["fields"]:
            if field["name"] not in out and "default" in field:
                out[field["name"]] = field["default"]
            if field["name"] in out:
                out[field["name"]] = fill_defaults(field["type"], out[field["name"]], named)
        return out
    if kind == "array" and isinstance(value, list):
        return [fill_defaults(schema["items"], v, named) for v in value]
    if kind in ("enum", "fixed"):
        named[schema["name"]] = schema
    return value


_HINTS: dict[bytes, Hint | None] = {}
_PARTS: dict[bytes, Parts | None] = {}


def _hints_for(schema: SchemaVersion) -> Hint | None:
    """The union hints of ``schema`` (compiled once per schema version)."""
    if schema.sha256 not in _HINTS:
        _HINTS[schema.sha256] = union_hints(schema.full)
    return _HINTS[schema.sha256]


def _parts_for(schema: SchemaVersion) -> Parts | None:
    """The write plan in parts of ``schema`` (compiled once per schema version)."""
    if schema.sha256 not in _PARTS:
        _PARTS[schema.sha256] = parts_for(schema.full)
    return _PARTS[schema.sha256]


class Codec:
    """Encodes records with the current schema; decodes any known writer version into it."""

    def __init__(self, registry: SchemaRegistry | None = None) -> None:
        self.registry = registry or default_registry()

    def encode(
        self, name: str, record: dict[str, Any], shared: Shared | None = None
    ) -> tuple[bytes, bytes]:
        """(framed bytes, writer schema SHA-256). Unknown or missing fields are errors. With
        ``shared``, values the records of one batch share are encoded once (same bytes)."""
        schema = self.registry.current(name)
        return self.encode_with(schema, record, shared), schema.sha256

    @staticmethod
    def encode_with(
        schema: SchemaVersion, record: dict[str, Any], shared: Shared | None = None
    ) -> bytes:
        """Encode with one particular schema version (tests of evolution use old versions)."""
        out = io.BytesIO()
        out.write(MAGIC + schema.crc64)
        try:
            parts = _parts_for(schema) if shared is not None else None
            if parts is not None and shared is not None:
                parts.write(out, record, shared)
            else:
                hints = _hints_for(schema)
                if hints is not None:
                    record = hints(record)
                schemaless_writer(
                    out, schema.parsed, record, strict=True, strict_allow_default=True
                )
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise MessageRejected(
                RejectReason.INVALID_CONTENT, f"{schema.name} does not fit its schema: {exc}"
            ) from exc
        return out.getvalue()

    def decode(self, name: str, data: bytes, writer_sha256: bytes) -> dict[str, Any]:
        """Decode a frame written with the schema ``writer_sha256`` into the current ``name``."""
        writer = self.registry.by_sha256(writer_sha256)
        if writer is None or writer.name != name:
            raise MessageRejected(
                RejectReason.UNKNOWN_SCHEMA, f"writer schema {writer_sha256.hex()[:16]} unknown"
            )
        if data[:2] != MAGIC or data[2:_FRAME_HEADER] != writer.crc64:
            raise MessageRejected(RejectReason.MALFORMED, "bad single-object frame or fingerprint")
        reader = self.registry.current(name)
        body = io.BytesIO(data[_FRAME_HEADER:])
        try:
            record = cast(dict[str, Any], schemaless_reader(body, writer.parsed, reader.parsed))
        except Exception as exc:  # fastavro raises many types on corrupt input
            raise MessageRejected(
                RejectReason.MALFORMED, f"{name} body does not decode: {type(exc).__name__}"
            ) from exc
        if body.tell() != len(data) - _FRAME_HEADER:
            raise MessageRejected(RejectReason.MALFORMED, f"{name} body has trailing bytes")
        return record

"""Avro encoding for MASH messages: strict writing, single-object framing, schema resolution.

Frame: 0xC3 0x01, the 8-byte CRC-64-AVRO fingerprint of the writer schema, then the body
(Avro single-object encoding; fastavro has no helper, fastavro #501).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, cast

from fastavro import schemaless_reader, schemaless_writer

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


Hint = Callable[[Any], Any]


def union_hints(schema: Any, named: dict[str, Any] | None = None) -> Hint | None:
    """A function that rewrites each dict in a union with record branches into fastavro's
    tuple notation, (record name, dict), when its keys fit exactly one branch; None when the
    schema has no such union. fastavro otherwise validates the dict deeply against each branch
    in turn, which costs more than the write itself. Only the paths leading to such unions
    are walked."""
    named = {} if named is None else named
    if isinstance(schema, str):
        schema = named.get(schema, schema)
    if isinstance(schema, list):
        return _union_hint(schema, named)
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind in ("enum", "fixed"):
        named[schema["name"]] = schema
    if kind == "record":
        named[schema["name"]] = schema
        fields = [(f["name"], union_hints(f["type"], named)) for f in schema["fields"]]
        plans = [(name, plan) for name, plan in fields if plan is not None]
        return _record_hint(plans) if plans else None
    if kind == "array":
        items = union_hints(schema["items"], named)
        return None if items is None else _array_hint(items)
    if kind == "map":
        values = union_hints(schema["values"], named)
        return None if values is None else _map_hint(values)
    return None


def _record_hint(plans: list[tuple[str, Hint]]) -> Hint:
    def hint(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for name, plan in plans:
            if name in out:
                out[name] = plan(out[name])
        return out

    return hint


def _array_hint(items: Hint) -> Hint:
    return lambda value: [items(v) for v in value] if isinstance(value, list) else value


def _map_hint(values: Hint) -> Hint:
    return lambda v: {k: values(x) for k, x in v.items()} if isinstance(v, dict) else v


def _union_hint(branches: list[Any], named: dict[str, Any]) -> Hint | None:
    records = []
    for branch in branches:
        resolved = named.get(branch, branch) if isinstance(branch, str) else branch
        plan = union_hints(resolved, named)
        if isinstance(resolved, dict) and resolved.get("type") == "record":
            fields = frozenset(f["name"] for f in resolved["fields"])
            required = frozenset(f["name"] for f in resolved["fields"] if "default" not in f)
            records.append((resolved["name"], fields, required, plan))
    if not records:
        return None

    def hint(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        keys = value.keys()
        fits = [r for r in records if keys <= r[1] and r[2] <= keys]
        if len(fits) != 1:
            return value  # ambiguous or no fit: fastavro decides (and reports)
        name, _, _, plan = fits[0]
        return (name, plan(value) if plan else value)

    return hint


_HINTS: dict[bytes, Hint | None] = {}


def _hints_for(schema: SchemaVersion) -> Hint | None:
    """The union hints of ``schema`` (compiled once per schema version)."""
    if schema.sha256 not in _HINTS:
        _HINTS[schema.sha256] = union_hints(schema.full)
    return _HINTS[schema.sha256]


class Codec:
    """Encodes records with the current schema; decodes any known writer version into it."""

    def __init__(self, registry: SchemaRegistry | None = None) -> None:
        self.registry = registry or default_registry()

    def encode(self, name: str, record: dict[str, Any]) -> tuple[bytes, bytes]:
        """(framed bytes, writer schema SHA-256). Unknown or missing fields are errors."""
        schema = self.registry.current(name)
        return self.encode_with(schema, record), schema.sha256

    @staticmethod
    def encode_with(schema: SchemaVersion, record: dict[str, Any]) -> bytes:
        """Encode with one particular schema version (tests of evolution use old versions)."""
        out = io.BytesIO()
        out.write(MAGIC + schema.crc64)
        try:
            hints = _hints_for(schema)
            if hints is not None:
                record = hints(record)
            schemaless_writer(out, schema.parsed, record, strict=True, strict_allow_default=True)
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

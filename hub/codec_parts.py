"""Avro records written in parts, so that a value several records of one batch share (a
referral's subjects: in each agency's request and in the case opened) is encoded once.

An Avro record is the concatenation of its fields' encodings, so writing the fields before a
shared value, the value, and the fields after it gives the same bytes as one write. Each part is
a strict fastavro write; a shared value is reused only for the very same object (``is``).
"""

from __future__ import annotations

import io
from itertools import count
from typing import Any

from fastavro import parse_schema, schemaless_writer

from hub.codec_hints import Hint, union_hints

SHARED_ITEMS = frozenset({"mash.Subject"})  # arrays of these are worth encoding once a batch
_names = count()


class Shared:
    """Encodings of the shared values of one batch, by object identity (the object is kept,
    so its id cannot be reused while the batch lasts). Create one per batch of records."""

    def __init__(self) -> None:
        self._done: dict[int, tuple[object, bytes]] = {}

    def get(self, value: object) -> bytes | None:
        """The bytes written for this very object in this batch, if any."""
        hit = self._done.get(id(value))
        return hit[1] if hit is not None and hit[0] is value else None

    def put(self, value: object, data: bytes) -> None:
        """Remember the bytes of ``value`` (already validated by a strict write)."""
        self._done[id(value)] = (value, data)


def _item_name(items: Any) -> str | None:
    if isinstance(items, str):
        return items
    if isinstance(items, dict) and items.get("type") == "record":
        return str(items["name"])
    return None


def _is_shared(kind: Any) -> bool:
    return (
        isinstance(kind, dict)
        and kind.get("type") == "array"
        and _item_name(kind["items"]) in SHARED_ITEMS
    )


def _holds_shared(kind: Any) -> bool:
    """A record type (not a union) with a shared array in it, at any depth of records."""
    if _is_shared(kind):
        return True
    if isinstance(kind, dict) and kind.get("type") == "record":
        return any(_holds_shared(f["type"]) for f in kind["fields"])
    return False


def _write(out: io.BytesIO, schema: Any, hints: Hint | None, value: Any) -> None:
    schemaless_writer(
        out, schema, hints(value) if hints else value, strict=True, strict_allow_default=True
    )


class Parts:
    """The write plan of one record type: runs of ordinary fields (one strict write each),
    shared arrays (written once a batch) and records that hold one (planned in turn)."""

    def __init__(self, record: dict[str, Any], named: dict[str, Any], hinted: dict[str, Any]):
        self.fields = frozenset(f["name"] for f in record["fields"])
        self.steps: list[tuple[str, Any, Any, Any]] = []
        run: list[dict[str, Any]] = []
        for field in [*record["fields"], None]:
            if field is not None and not _holds_shared(field["type"]):
                run.append(field)
                continue
            if run:
                part = {"type": "record", "name": f"mash._Part{next(_names)}", "fields": run}
                names = [f["name"] for f in run]
                parsed = parse_schema(part, named_schemas=dict(named))
                self.steps.append(("run", parsed, union_hints(part, dict(hinted)), names))
                run = []
            if field is None:
                break
            kind = field["type"]
            if _is_shared(kind):
                parsed = parse_schema(kind, named_schemas=dict(named))
                self.steps.append(("shared", parsed, union_hints(kind, dict(hinted)), field))
            else:
                self.steps.append(("record", Parts(kind, named, hinted), None, field))

    def write(self, out: io.BytesIO, record: Any, shared: Shared) -> None:
        """Write ``record`` (strictly: unknown fields and wrong types are errors)."""
        if not isinstance(record, dict):
            raise TypeError(f"a record must be a dict, not {type(record).__name__}")
        unknown = record.keys() - self.fields
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        for kind, schema, hints, spec in self.steps:
            if kind == "run":
                _write(out, schema, hints, {k: record[k] for k in spec if k in record})
            elif kind == "record":
                schema.write(out, record[spec["name"]], shared)
            else:
                value = record[spec["name"]] if spec["name"] in record else spec["default"]
                data = shared.get(value)
                if data is None:
                    part = io.BytesIO()
                    _write(part, schema, hints, value)
                    data = part.getvalue()
                    shared.put(value, data)
                out.write(data)


def parts_for(full: dict[str, Any]) -> Parts | None:
    """The write plan of an expanded record schema, or None when it holds no shared array."""
    if not _holds_shared(full):
        return None
    named: dict[str, Any] = {}
    parse_schema(full, named_schemas=named)
    hinted: dict[str, Any] = {}
    union_hints(full, hinted)
    return Parts(full, named, hinted)

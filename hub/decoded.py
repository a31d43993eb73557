"""A bounded cache of records decoded from stored Avro bytes, checked against the stored bytes
on every read: a referral read once per response need not be decoded (or re-encoded) again."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class DecodedCache:
    """Records by key, valid only while the stored bytes are the ones they were decoded from
    (another instance sharing the database may have replaced them)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[bytes, dict[str, Any]]] = OrderedDict()

    def get(self, key: str, stored: bytes) -> dict[str, Any] | None:
        """The record decoded from ``stored``, if it is cached."""
        found = self._items.get(key)
        if found is None or found[0] != stored:
            return None
        self._items.move_to_end(key)
        return found[1]

    def put(self, key: str, stored: bytes, record: dict[str, Any]) -> None:
        """Remember ``record`` as the decoding of ``stored`` (oldest entries leave first)."""
        self._items[key] = (stored, record)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def holds(self, key: str, record: dict[str, Any]) -> bool:
        """Whether ``record`` is the very object cached (so it is already stored as is)."""
        found = self._items.get(key)
        return found is not None and found[1] is record

    def clear(self) -> None:
        """Forget every record (writes they came with were undone)."""
        self._items.clear()

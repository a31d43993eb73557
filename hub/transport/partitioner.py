"""Which partition a keyed message goes to: exactly the Java client's and aiokafka's choice
(murmur2 of the key), with each key's hash remembered. Every message about a referral carries
the referral's id as its key, and aiokafka hashes in pure Python (~7 us a message)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from aiokafka.partitioner import murmur2

REMEMBERED_KEYS = 65_536


class KeyPartitioner:
    """aiokafka's DefaultPartitioner with a bounded memory of key hashes."""

    def __init__(self, remembered: int = REMEMBERED_KEYS) -> None:
        self._hashes: dict[bytes, int] = {}
        self._remembered = remembered

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        """The partition for ``key`` (a random available one for no key, as aiokafka)."""
        if key is None:
            return random.choice(available or all_partitions)
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self._remembered:
                self._hashes.clear()  # a fresh start is cheaper than tracking recency
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]

"""An in-memory broker for fast tests of business rules (not a substitute for the real one)."""

from __future__ import annotations

import zlib
from collections import defaultdict

from hub.transport.base import Consumed


class MemoryBroker:
    """Topics as lists per partition; publishing appends, reading is by offset."""

    def __init__(self, partitions: int = 3) -> None:
        self.partitions = partitions
        self.topics: dict[str, list[list[Consumed]]] = defaultdict(
            lambda: [[] for _ in range(self.partitions)]
        )

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        """Append to the partition the key hashes to (partition 0 without a key)."""
        partition = zlib.crc32(key) % self.partitions if key else 0
        log = self.topics[topic][partition]
        log.append(Consumed(topic, partition, len(log), key, value, headers))

    def messages(self, topic: str) -> list[Consumed]:
        """Every message of ``topic`` across partitions, by partition then offset."""
        return [m for part in self.topics[topic] for m in part]

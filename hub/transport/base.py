"""What business code sees of the transport: consumed messages and a durable publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Consumed:
    """One message as read from a topic (the value is sealed bytes)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=())
    # When the broker logged it (ms since the epoch; the broker's own clock on topics with
    # message.timestamp.type=LogAppendTime): an archive is judged as at that moment.
    timestamp_ms: int | None = None


class Publisher(Protocol):
    """Publishes and returns only once the broker holds the message durably."""

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        """Send ``value`` to ``topic`` and wait for the acknowledgement."""

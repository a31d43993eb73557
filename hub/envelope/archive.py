"""Opening messages kept on an archive topic (quarantine, checkpoints) long after they were
sent: each is judged as at the moment the broker logged it, so one past its time to live
still opens for review, and nothing is remembered as processed."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from hub.codec import Codec
from hub.envelope.format import EnvelopeCodec
from hub.envelope.opener import Opened, Opener
from hub.keys.ring import KeyRing
from hub.replay import MemorySeenMessages


def logged_at(timestamp_ms: int | None) -> datetime | None:
    """A Kafka record timestamp as a UTC time (None when the broker gave none)."""
    return (
        None
        if timestamp_ms is None or timestamp_ms < 0
        else datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    )


class ArchiveOpener:
    """Opens archived messages addressed to one principal, each as at its logging time."""

    def __init__(self, ring: KeyRing, codec: Codec | None = None) -> None:
        self._at: datetime | None = None
        self._opener = Opener(ring, MemorySeenMessages(), codec, clock=self._now)

    @property
    def envelopes(self) -> EnvelopeCodec:
        """The envelope codec (to read what a refused message's header claims)."""
        return self._opener.envelopes

    def _now(self) -> datetime:
        return self._at or datetime.now(UTC)

    def open(
        self, data: bytes, *, topic: str, at: datetime | None, expect: Collection[str] = ()
    ) -> Opened:
        """Verify and decrypt ``data`` read from ``topic``, its time window checked against
        ``at`` (when the broker logged it; now if unknown). Raises MessageRejected as
        ``Opener.open`` does: a revoked sender key or a damaged record still fails."""
        self._at = at
        try:
            return self._opener.open(data, topic=topic, expect=expect, remember=False)
        finally:
            self._at = None

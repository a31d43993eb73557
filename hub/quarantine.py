"""The shared consumer step: open what arrives, or send it to quarantine with the reason.

Quarantine records carry the sealed bytes exactly as received, never plaintext, and are
themselves sealed to information governance (the auditor principal).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime

import structlog

from hub.envelope import Opened, Opener, Sealer
from hub.errors import MessageRejected
from hub.replay import position_of
from hub.transport.base import Consumed, Publisher

log = structlog.get_logger(__name__)
QUARANTINE_READER = "auditor"


class Inbox:
    """Opens consumed messages for one service; anything that fails goes to quarantine."""

    def __init__(
        self,
        *,
        service: str,
        opener: Opener,
        sealer: Sealer,
        publisher: Publisher,
        quarantine_topic: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.service = service
        self.opener = opener
        self.sealer = sealer
        self.publisher = publisher
        self.quarantine_topic = quarantine_topic
        self.clock = clock
        self.quarantined = 0

    async def receive(self, message: Consumed, expect: Collection[str] = ()) -> Opened | None:
        """The opened message, or None after it was durably quarantined. Raises
        AlreadyProcessed (Redelivered, Resent) for a message this service processed already:
        nothing to do, nothing to quarantine."""
        try:
            return self.opener.open(
                message.value,
                topic=message.topic,
                expect=expect,
                remember=False,
                position=position_of(message.topic, message.partition, message.offset),
            )
        except MessageRejected as rejected:
            await self.quarantine(message, rejected)
            return None

    async def quarantine(self, message: Consumed, rejected: MessageRejected) -> None:
        """Publish the sealed bytes and the reason; returns once the broker holds them."""
        quarantine_id = str(uuid.uuid4())
        record = {
            "quarantine_id": quarantine_id,
            "quarantined_at": self.clock(),
            "service": self.service,
            "source_topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "reason": rejected.reason.value,
            "detail": rejected.detail,
            "key": message.key,
            "sealed": bytes(message.value),
        }
        sealed, _ = self.sealer.seal(
            topic=self.quarantine_topic,
            schema_name="mash.Quarantined",
            record=record,
            recipients=[QUARANTINE_READER],
            correlation_id=quarantine_id,
        )
        await self.publisher.publish(self.quarantine_topic, sealed, key=quarantine_id.encode())
        self.quarantined += 1
        log.warning(
            "message_quarantined",
            service=self.service,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            reason=rejected.reason.value,
            quarantine_id=quarantine_id,
        )

    def processed(self, opened: Opened) -> None:
        """Record the message as processed once this service's outputs are durable."""
        self.opener.remember(opened.header, opened.position, opened.digest)

    def processed_all(self, opened: list[Opened]) -> None:
        """Record a batch of messages as processed once all their outputs are durable."""
        if opened:
            self.opener.remember_all(opened)

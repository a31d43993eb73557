"""aiokafka adapters for the transport interface: a durable publisher, a consumer, and a
reader of a whole topic (an archive)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from hub.settings import KafkaSettings
from hub.transport.base import Consumed
from hub.transport.partitioner import KeyPartitioner


class KafkaPublisher:
    """An idempotent producer; ``publish`` returns once the broker has acknowledged (acks=all)."""

    def __init__(self, settings: KafkaSettings, **options: Any) -> None:
        self._producer = AIOKafkaProducer(
            **settings.aiokafka_kwargs(),
            enable_idempotence=True,
            linger_ms=options.pop("linger_ms", 2),
            partitioner=options.pop("partitioner", KeyPartitioner()),
            **options,
        )

    async def start(self) -> None:
        """Connect and authenticate."""
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and close."""
        await self._producer.stop()

    async def prepare(self, topic: str) -> None:
        """Fetch ``topic``'s partitions now, so that its first publish waits for no metadata
        (for a sender whose first message is urgent)."""
        await self._producer.partitions_for(topic)

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        """Send and wait for the acknowledgement."""
        await self._producer.send_and_wait(topic, value, key=key, headers=list(headers) or None)

    async def publish_all(self, messages: Sequence[tuple[str, bytes, bytes | None]]) -> None:
        """Send several (topic, value, key) at once and wait until the broker acknowledged
        every one: one round trip instead of one per message. Order per partition is kept
        (the producer is idempotent)."""
        futures = [await self._producer.send(t, v, key=k) for t, v, k in messages]
        await asyncio.gather(*futures)

    async def __aenter__(self) -> KafkaPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class KafkaSubscription:
    """A consumer-group member with manual commits (offsets advance only after durable output)."""

    def __init__(
        self, settings: KafkaSettings, topics: Sequence[str], group_id: str, **options: Any
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            **settings.aiokafka_kwargs(),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset=options.pop("auto_offset_reset", "earliest"),
            isolation_level="read_committed",
            **options,
        )
        self._next: dict[tuple[str, int], int] = {}
        self._partitioner = KeyPartitioner()

    async def start(self) -> None:
        """Connect, authenticate and join the group."""
        await self._consumer.start()

    async def stop(self) -> None:
        """Leave the group and close."""
        await self._consumer.stop()

    async def batches(
        self, timeout_ms: int = 500, max_records: int = 500
    ) -> AsyncIterator[list[Consumed]]:
        """Yield batches of consumed messages (empty batches too, so callers can check time)."""
        while True:
            yield await self._fetch((), timeout_ms, max_records)

    async def fetched_now(self, topics: Collection[str], max_records: int = 500) -> list[Consumed]:
        """Messages of ``topics`` already fetched, without waiting (a priority lane: a caller
        busy with a long batch takes urgent input in between)."""
        partitions = [tp for tp in self._consumer.assignment() if tp.topic in topics]
        if not partitions:
            return []
        return await self._fetch(partitions, 0, max_records)

    async def _fetch(
        self, partitions: Sequence[TopicPartition], timeout_ms: int, max_records: int
    ) -> list[Consumed]:
        fetched = await self._consumer.getmany(
            *partitions, timeout_ms=timeout_ms, max_records=max_records
        )
        for tp, messages in fetched.items():
            if messages:
                self._next[(tp.topic, tp.partition)] = messages[-1].offset + 1
        return [
            Consumed(
                m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()), m.timestamp
            )
            for messages in fetched.values()
            for m in messages
        ]

    async def commit(self, processed: Sequence[Consumed]) -> None:
        """Commit offset+1 of the last processed message per partition."""
        last: dict[TopicPartition, int] = {}
        for m in processed:
            tp = TopicPartition(m.topic, m.partition)
            last[tp] = max(last.get(tp, -1), m.offset)
        if last:
            await self._consumer.commit({tp: offset + 1 for tp, offset in last.items()})

    def rewind(self, messages: Sequence[Consumed]) -> None:
        """Fetch ``messages`` again (the work on them was undone): each partition still
        assigned goes back to its first of them; a partition that moved to another member
        resumes there from the committed offset anyway."""
        first: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            first[tp] = min(first.get(tp, m.offset), m.offset)
        assigned = self._consumer.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self._consumer.seek(tp, offset)
                self._next[(tp.topic, tp.partition)] = offset

    def owns(self, key: bytes) -> bool:
        """Whether this member now holds the partition that messages keyed ``key`` go to (on
        one of its topics; range assignment gives it that partition of every input topic):
        for work no message triggers, such as a deadline, which one instance must do."""
        topic = next(iter(sorted(self._consumer.subscription())), None)
        partitions = self._consumer.partitions_for_topic(topic) if topic else None
        if not partitions:
            return False
        ordered = sorted(partitions)
        chosen = self._partitioner(key, ordered, ordered)
        return TopicPartition(topic, chosen) in self._consumer.assignment()

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages between the consumer's position and the end of each assigned partition."""
        behind: dict[tuple[str, int], int] = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            position = self._next.get((tp.topic, tp.partition))
            if high is not None and position is not None:
                behind[(tp.topic, tp.partition)] = max(0, high - position)
        return behind

    async def committed(self, topic: str, partition: int) -> int | None:
        """The group's committed offset for one partition."""
        result: int | None = await self._consumer.committed(TopicPartition(topic, partition))
        return result

    async def __aenter__(self) -> KafkaSubscription:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def read_to_end(
    settings: KafkaSettings, topic: str, max_records: int = 500
) -> list[Consumed]:
    """Every message of ``topic``, from the start of each partition to its end as it was when
    called: a review of an archive (quarantine, checkpoints). No consumer group, so nothing
    is committed and two reviewers never share or move each other's place. LookupError when
    the topic cannot be read (absent, not allowed, no broker)."""
    return [m async for chunk in stream_to_end(settings, topic, max_records) for m in chunk]


async def stream_to_end(
    settings: KafkaSettings, topic: str, max_records: int = 500
) -> AsyncIterator[list[Consumed]]:
    """As read_to_end, a fetch at a time (at most ``max_records`` each): an archive kept for
    good is reviewed without holding all of it in memory."""
    consumer = AIOKafkaConsumer(
        topic,  # without a group: every partition is assigned to this reader
        **settings.aiokafka_kwargs(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    try:
        await consumer.start()
        partitions = sorted(consumer.assignment())
        if not partitions:
            raise LookupError(f"topic {topic} not found, or not readable by {settings.username}")
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        while waiting := [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            fetched = await consumer.getmany(*waiting, timeout_ms=500, max_records=max_records)
            chunk = [
                Consumed(
                    m.topic,
                    m.partition,
                    m.offset,
                    m.key,
                    m.value,
                    tuple(m.headers or ()),
                    m.timestamp,
                )
                for records in fetched.values()
                for m in records
                if m.offset < ends[TopicPartition(m.topic, m.partition)]
            ]
            if chunk:
                yield chunk
    except KafkaError as exc:
        raise LookupError(f"cannot read {topic} as {settings.username}: {exc}") from exc
    finally:
        await consumer.stop()

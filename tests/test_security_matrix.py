"""Least privilege, enforced by the real broker: every principal and every topology topic."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from hub.settings import KafkaSettings
from hub.topology import Topology
from tests.brokers import KafkaCluster

pytestmark = pytest.mark.broker

PRINCIPALS = Topology.load().service_principals()
SEED = b"sealed-bytes-placeholder"


async def _seed_every_topic(kafka: KafkaCluster, topology: Topology) -> None:
    producer = AIOKafkaProducer(**kafka.admin.aiokafka_kwargs())
    await producer.start()
    try:
        for topic in topology.topics:
            await producer.send_and_wait(topic.name, SEED, partition=0)
    finally:
        await producer.stop()


async def _can_produce(settings: KafkaSettings, topic: str) -> bool:
    # A fresh producer per topic: a denied topic stays in a producer's metadata and taints it.
    # Not idempotent: a read-only principal (auditor) may not obtain a producer id at all.
    producer = AIOKafkaProducer(**settings.aiokafka_kwargs(), acks="all")
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b"probe", partition=0), 20)
    except TopicAuthorizationFailedError:
        return False
    finally:
        await producer.stop()
    return True


async def _can_consume(settings: KafkaSettings, topic: str) -> bool:
    consumer = AIOKafkaConsumer(
        **settings.aiokafka_kwargs(), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    partition = TopicPartition(topic, 0)
    try:
        visible = topic in await consumer.topics()
        consumer.assign([partition])
        wait_ms = 10_000 if visible else 500
        batch = await asyncio.wait_for(consumer.getmany(partition, timeout_ms=wait_ms), 20)
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()
    if not visible:
        # No DESCRIBE either: the broker hides the topic from metadata, so nothing can be fetched.
        assert batch == {}, f"{topic} is hidden from this principal yet data arrived"
        return False
    values = [m.value for m in batch.get(partition, [])]
    assert values[:1] == [SEED], f"allowed to read {topic} but the seeded message did not arrive"
    return True


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_principal_may_use_exactly_its_topics(
    kafka: KafkaCluster, topology: Topology, principal: str
) -> None:
    """Each produce/consume the topology allows succeeds; every other one is refused."""
    await _seed_every_topic(kafka, topology)
    settings = kafka.settings(principal)
    limit = asyncio.Semaphore(8)  # probes are independent clients: run them side by side

    async def probe(topic: str) -> list[str]:
        async with limit:
            found = []
            expected_write = topology.may_produce(principal, topic)
            if await _can_produce(settings, topic) != expected_write:
                found.append(f"write {topic}: expected {'allow' if expected_write else 'deny'}")
            expected_read = topology.may_consume(principal, topic)
            if await _can_consume(settings, topic) != expected_read:
                found.append(f"read {topic}: expected {'allow' if expected_read else 'deny'}")
            return found

    results = await asyncio.gather(*(probe(t.name) for t in topology.topics))
    wrong = [line for lines in results for line in lines]
    assert wrong == []


def test_police_adapter_reach_is_as_the_brief_says() -> None:
    """The police adapter reads its requests and writes its responses; never other agencies'."""
    topo = Topology.load()
    assert topo.may_consume("police", "mash.requests.police")
    assert topo.may_produce("police", "mash.responses.police")
    assert not topo.may_consume("police", "mash.responses.health")
    assert not topo.may_produce("police", "mash.packages")
    assert not topo.may_consume("police", "mash.requests.health")
    assert not topo.may_consume("police", "mash.quarantine")


async def test_consumer_groups_only_under_own_prefix(
    kafka: KafkaCluster, topology: Topology
) -> None:
    """A principal may join groups under its own prefix and no other."""
    settings = kafka.settings("police")
    topic = topology.topic("mash.requests.police")
    own = AIOKafkaConsumer(
        topic,
        **settings.aiokafka_kwargs(),
        group_id=topology.group_prefix("police") + "adapter",
        auto_offset_reset="earliest",
    )
    await own.start()
    try:
        await asyncio.wait_for(own.getmany(timeout_ms=2_000), 30)
        await own.commit()
    finally:
        await own.stop()
    other = AIOKafkaConsumer(
        topic, **settings.aiokafka_kwargs(), group_id=topology.group_prefix("firewall") + "adapter"
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await other.start()
            await asyncio.wait_for(other.getmany(timeout_ms=5_000), 30)
    finally:
        await other.stop()


async def test_wrong_password_is_refused(kafka: KafkaCluster, topology: Topology) -> None:
    """A client with a wrong SCRAM password cannot connect at all."""
    settings = kafka.settings("police", password="not-the-password")
    producer = AIOKafkaProducer(**settings.aiokafka_kwargs())
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


async def test_unauthenticated_client_gets_nothing(kafka: KafkaCluster, topology: Topology) -> None:
    """A client that skips SASL is disconnected before it sees any metadata."""
    plain = KafkaSettings(
        bootstrap_servers=kafka.bootstrap, security_protocol="PLAINTEXT", sasl_mechanism=None
    )
    consumer = AIOKafkaConsumer(
        **plain.aiokafka_kwargs(), request_timeout_ms=5_000, connections_max_idle_ms=10_000
    )
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(consumer.start(), 30)
    await consumer.stop()


async def test_unknown_user_is_refused(kafka: KafkaCluster, topology: Topology) -> None:
    """A principal that was never provisioned cannot authenticate."""
    settings = KafkaSettings(
        bootstrap_servers=kafka.bootstrap, username="mallory", password="whatever"
    )  # type: ignore[arg-type]
    producer = AIOKafkaProducer(**settings.aiokafka_kwargs())
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()

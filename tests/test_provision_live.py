"""`mash provision` against the real broker: idempotent, and a topology edit applies only itself."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from hub.provision import ClusterAdmin, provision
from hub.topology import Topology
from tests.brokers import KafkaCluster

pytestmark = pytest.mark.broker


async def _send(kafka: KafkaCluster, principal: str, topic: str) -> None:
    producer = AIOKafkaProducer(**kafka.settings(principal).aiokafka_kwargs())
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b"x"), 20)
    finally:
        await producer.stop()


async def test_second_run_changes_nothing(kafka: KafkaCluster, topology: Topology) -> None:
    """Provisioning an already provisioned namespace is a no-op."""
    again = provision(topology, ClusterAdmin(kafka.admin), kafka.password)
    assert again.empty, again.describe()


async def test_revoking_a_grant_takes_effect_and_changes_only_that(
    kafka: KafkaCluster, topology: Topology
) -> None:
    """Remove intake's right to publish referrals: exactly that ACL goes and the broker refuses."""
    referrals = topology.topic("mash.referrals")
    await _send(kafka, "intake", referrals)
    edited = topology.model_copy(
        update={
            "topics": tuple(
                t.model_copy(update={"producers": ()}) if t.name == referrals else t
                for t in topology.topics
            )
        }
    )
    change = provision(edited, ClusterAdmin(kafka.admin), kafka.password)
    assert [a.name for a in change.delete_acls] == [referrals]
    assert not (change.create_acls or change.create_topics or change.create_users)
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(kafka, "intake", referrals)
    restored = provision(topology, ClusterAdmin(kafka.admin), kafka.password)
    assert [a.name for a in restored.create_acls] == [referrals]
    await _send(kafka, "intake", referrals)

"""The firewall's priority lane over the real broker: a Level 3 referral is notified while a
backlog of agency responses still waits behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.sources.generate import referral_for_household
from hub.topology import Topology
from tests.brokers import KafkaCluster
from tests.flow import Flow, running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker
BACKLOG = 2000
QUEUED = 600  # long enough (~1 s of work) that the Level 3 referral arrives while it runs


async def _level3_after(
    flow: Flow, topology: Topology, home: Path, backlog: str, busy: int
) -> float:
    """Once the firewall has handled ``busy`` messages of the ``backlog`` topic, send a Level 3
    referral; how many of the backlog it had handled when it handled that referral (its case is
    in the firewall's state; the notification is then checked to go out, and to be that
    referral's). Counted at handling, not at the broker's acknowledgement of the notification,
    which on a loaded machine can come after the rest of the backlog although the referral
    went first. The referral is sealed and the intake publisher connected beforehand, so the
    send is one produce however loaded the machine."""
    from hub.intake import publish_referral

    firewall = flow.services["firewall"]
    registry = firewall.runner.metrics.registry
    state = firewall.handler.state  # type: ignore[attr-defined]
    topic = topology.topic(backlog)
    notifications = topology.topic("mash.notifications")

    def handled() -> float:
        return registry.get_sample_value("mash_messages_in_total", {"topic": topic}) or 0

    def notified() -> float:
        found = registry.get_sample_value("mash_messages_out_total", {"topic": notifications})
        return found or 0

    referral = referral_for_household(home / "sources", "LEVEL_3", seed=3)
    intake = await flow.publisher("intake")
    try:
        await intake.prepare(topology.topic("mash.referrals"))
        async with asyncio.timeout(60):
            while handled() < busy:  # noqa: ASYNC110 - the firewall is busy with the backlog
                await asyncio.sleep(0.005)
        await publish_referral(referral, flow.keys.ring("intake"), topology, intake)
    finally:
        await intake.stop()
    async with asyncio.timeout(60):
        while state.referral(referral["referral_id"]) is None:  # noqa: ASYNC110 - its state
            await asyncio.sleep(0.002)
    waited_for = handled()
    async with asyncio.timeout(60):
        while not notified():  # noqa: ASYNC110 - polling the service's own metrics
            await asyncio.sleep(0.005)
    notices = await flow.read("mash.notifications", "police", 1)
    assert notices[0]["referral_id"] == referral["referral_id"]
    return waited_for


async def test_level3_referral_overtakes_a_backlog_of_responses(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """With 2,000 responses queued (junk the firewall must quarantine one by one), a Level 3
    referral sent after them is notified before half of them have been handled."""
    async with running_flow(kafka, topology, keys, tmp_path, only=("firewall",)) as flow:
        responses = topology.topic("mash.responses.police")
        police = await flow.publisher("police")
        try:
            await police.publish_all(
                [(responses, b"not an envelope %d" % i, str(i).encode()) for i in range(BACKLOG)]
            )
        finally:
            await police.stop()
        waited_for = await _level3_after(flow, topology, tmp_path, "mash.responses.police", 50)
    assert waited_for < BACKLOG / 2, f"the notification waited for {waited_for:.0f} responses"


async def test_level3_referral_overtakes_queued_level2_referrals(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """With 600 Level 2 referrals queued for the firewall, a Level 3 referral sent after them
    is notified before half of them have been handled (it is first within the lane)."""
    from hub.envelope import Sealer

    async with running_flow(kafka, topology, keys, tmp_path, only=("firewall",)) as flow:
        referrals = topology.topic("mash.referrals")
        sealer = Sealer(keys.ring("intake"))
        queued = []
        for seed in range(QUEUED):
            referral = referral_for_household(tmp_path / "sources", "LEVEL_2", seed=100 + seed)
            data, _ = sealer.seal(
                topic=referrals,
                schema_name="mash.Referral",
                record=referral,
                recipients=["firewall"],
                correlation_id=referral["referral_id"],
            )
            queued.append((referrals, data, referral["referral_id"].encode()))
        intake = await flow.publisher("intake")
        try:
            await intake.publish_all(queued)
        finally:
            await intake.stop()
        waited_for = await _level3_after(flow, topology, tmp_path, "mash.referrals", 10)
    assert waited_for < QUEUED / 2, f"the notification waited for {waited_for:.0f} referrals"

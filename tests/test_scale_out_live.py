"""Scale out over the real broker: a second firewall instance joins the consumer group mid-run
and the first leaves; every referral still gets exactly one package, none lost or doubled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hub.envelope import Opener
from hub.errors import MessageRejected, RejectReason
from hub.replay import MemorySeenMessages
from hub.sources.generate import referral_for_household
from hub.topology import Topology
from hub.transport.kafka import KafkaSubscription
from tests.brokers import KafkaCluster
from tests.flow import Flow, running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


async def _packages(flow: Flow, want: set[str], wait_s: float = 120) -> tuple[list[Any], int]:
    """Packages opened by the duty manager until every referral in ``want`` has one, and how
    many redelivered copies replay protection dropped."""
    topic = flow.topology.topic("mash.packages")
    opener = Opener(flow.keys.ring("dutymanager"), MemorySeenMessages())
    group = flow.topology.group_prefix("dutymanager") + "scale-test"
    accepted: list[Any] = []
    dropped = 0
    async with KafkaSubscription(flow.kafka.settings("dutymanager"), [topic], group) as sub:
        async with asyncio.timeout(wait_s):
            async for batch in sub.batches(timeout_ms=200):
                for message in batch:
                    try:
                        accepted.append(opener.open(message.value, topic=topic).record)
                    except MessageRejected as exc:
                        assert exc.reason is RejectReason.REPLAY
                        dropped += 1
                if want <= {p["referral_id"] for p in accepted}:
                    return accepted, dropped
    return accepted, dropped


async def test_firewall_instance_joins_and_leaves_mid_run(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """Batches sent with one instance, then two, then only the newcomer: one package each."""
    async with running_flow(kafka, topology, keys, tmp_path) as flow:
        referrals = [
            referral_for_household(tmp_path / "sources", level, seed=i)
            for i, level in enumerate(["LEVEL_2", "LEVEL_3", "LEVEL_1"] * 6)
        ]
        await flow.refer(*referrals[:6])
        second = await flow.start("firewall-2", "firewall", None, flow.settings["firewall"])
        await flow.refer(*referrals[6:12])
        await asyncio.sleep(2)
        flow.services["firewall"].runner.request_stop()
        await asyncio.sleep(1)
        await flow.refer(*referrals[12:])
        want = {r["referral_id"] for r in referrals}
        packages, _dropped = await _packages(flow, want)  # redelivered copies are dropped
        assert second.runner.processed > 0, "the newcomer took over partitions"
    firsts = [p for p in packages if p["addendum"] == 0 and p["referral_id"] in want]
    per_referral = {rid: sum(p["referral_id"] == rid for p in firsts) for rid in want}
    assert set(per_referral.values()) == {1}, per_referral
    assert len({p["package_id"] for p in firsts}) == len(want)

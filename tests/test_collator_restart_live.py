"""The collator stopped at several points and restarted: no referral lost, no duplicate
package."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.services import CollatorSettings, build
from hub.sources.generate import referral_for_household
from hub.topology import Topology
from tests.brokers import KafkaCluster
from tests.flow import running_flow, serve_until
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


async def test_collator_restarts_at_several_points(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """For stops after 1, 3 and 5 messages: one package per referral, every agency in it."""
    without_collator = ("firewall", "police", "health", "education", "housing")
    async with running_flow(kafka, topology, keys, tmp_path, only=without_collator) as flow:
        referrals = [
            referral_for_household(tmp_path / "sources", "LEVEL_2", seed=s) for s in (21, 22, 23)
        ]
        await flow.refer(*referrals)
        await flow.read("mash.disclosures", "collator", 15)  # all of it is waiting now
        settings = CollatorSettings(
            home=tmp_path,
            namespace=topology.namespace,
            max_batch=1,
            poll_timeout_ms=100,
            kafka=kafka.settings("collator"),
        )
        total = 0
        for stop_after in (1, 3, 5):
            collator = build("collator", None, settings, key_store=keys.store)
            await serve_until(collator, stop_after)
            total += collator.runner.processed
        last = build("collator", None, settings, key_store=keys.store)
        task = asyncio.create_task(last.runner.run())
        packages = await flow.read("mash.packages", "dutymanager", 3, wait_s=60)
        with pytest.raises(TimeoutError):  # a duplicate would be a fourth package
            await flow.read("mash.packages", "dutymanager", 4, wait_s=8)
        last.runner.request_stop()
        await task
    assert total + last.runner.processed == 15
    assert sorted(p["referral_id"] for p in packages) == sorted(r["referral_id"] for r in referrals)
    for package in packages:
        assert package["addendum"] == 0
        assert {a["answer"] for a in package["agencies"]} == {"ANSWERED"}
        assert {f["agency"] for f in package["findings"]} == {
            "POLICE",
            "HEALTH",
            "EDUCATION",
            "HOUSING",
        }

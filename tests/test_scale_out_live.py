"""Scale out over the real broker: a second firewall instance joins the consumer group mid-run
and the first leaves; every referral still gets exactly one package, none lost or doubled, on
one host (shared SQLite) and across hosts (state and log in PostgreSQL)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from hub.sources.generate import referral_for_household
from hub.topology import Topology
from hub.transport.kafka import KafkaSubscription
from tests.brokers import KafkaCluster
from tests.flow import assert_log_accounts_for, assert_one_package_each, packages_for, running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


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
        packages, _dropped = await packages_for(flow, want)  # redelivered copies are dropped
        assert second.runner.processed > 0, "the newcomer took over partitions"
    assert_one_package_each(packages, want)


async def test_firewall_moves_to_another_host_with_its_state_in_postgresql(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path, postgres_url: str
) -> None:
    """A firewall on a second host (its own folder, nothing shared but PostgreSQL and the
    provisioned secrets) joins, the first leaves, and only then do the police answer, so the
    second host assesses answers to referrals the first opened: one package each, one
    verifiable log, no state file on either host."""
    import psycopg

    database = "hosts_" + topology.namespace.replace("-", "_")
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {database}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + database
    host_1, host_2 = tmp_path / "host-1", tmp_path / "host-2"
    others = ("firewall", "collator", "health", "education", "housing")
    async with running_flow(
        kafka, topology, keys, host_1, log_url=url, state_url=url, only=others
    ) as flow:
        referrals = [
            referral_for_household(host_1 / "sources", level, seed=i)
            for i, level in enumerate(["LEVEL_2", "LEVEL_3", "LEVEL_1"] * 6)
        ]
        await flow.refer(*referrals[:6])
        shutil.copytree(host_1 / "secrets", host_2 / "secrets")  # provisioned like host 1
        settings = flow.settings["firewall"].model_copy(update={"home": host_2})
        second = await flow.start("firewall-2", "firewall", None, settings)
        await flow.refer(*referrals[6:12])
        await asyncio.sleep(2)
        flow.services["firewall"].runner.request_stop()
        await asyncio.sleep(1)
        opened_by_first = flow.services["firewall"].runner.processed
        await flow.start("police", "adapter", "police", flow.settings["police"])
        await flow.refer(*referrals[12:])
        want = {r["referral_id"] for r in referrals}
        packages, _dropped = await packages_for(flow, want)
        assert opened_by_first > 0 and second.runner.processed > 0
    assert_one_package_each(packages, want)
    assert not list(host_2.rglob("*.db")), "the second host kept state of its own"
    assert not list((host_1 / "state").rglob("*.db")), "a service kept state in SQLite"
    assert_log_accounts_for(url, keys, want)


async def test_each_referral_has_one_owner_in_the_group(
    kafka: KafkaCluster, topology: Topology
) -> None:
    """With two members in a group, every referral's partition is held by exactly one of
    them (who alone chases and packages it); when one leaves, the other holds them all."""
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor

    topic = topology.topic("mash.disclosures")
    group = topology.group_prefix("collator") + "owners-test"
    keys = [f"referral-{i}".encode() for i in range(60)]
    strategy = {"partition_assignment_strategy": (RangePartitionAssignor,)}
    first = KafkaSubscription(kafka.settings("collator"), [topic], group, **strategy)
    second = KafkaSubscription(kafka.settings("collator"), [topic], group, **strategy)
    await first.start()
    await second.start()
    polls = [first.batches(timeout_ms=100), second.batches(timeout_ms=100)]
    try:
        async with asyncio.timeout(60):
            while True:
                await asyncio.gather(*(anext(p) for p in polls))
                owners = [(first.owns(k), second.owns(k)) for k in keys]
                if all(a != b for a, b in owners) and len(set(owners)) == 2:
                    break  # each key held by one, and each member holds some
        await second.stop()
        async with asyncio.timeout(60):
            while not all(first.owns(k) for k in keys):
                await anext(polls[0])
    finally:
        await first.stop()
        await second.stop()

"""Scale out over the real broker: a second firewall instance joins the consumer group mid-run
and the first leaves; every referral still gets exactly one package, none lost or doubled, on
one host (shared SQLite) and across hosts (state and log in PostgreSQL); two firewall
processes given concerns about one child at the same moment open one referral for it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.concerns import referral_from_concern
from hub.firewall.state import FirewallState
from hub.sources.concerns import household_with_child, raise_concern
from hub.sources.generate import referral_for_household
from hub.topology import Topology
from hub.transport.kafka import KafkaSubscription
from tests.brokers import KafkaCluster
from tests.flow import (
    assert_log_accounts_for,
    assert_one_package_each,
    packages_for,
    raise_as,
    running_flow,
)
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
        assert_nothing_quarantined(flow.services["firewall"], second)
    assert_one_package_each(packages, want)


async def test_firewall_moves_to_another_host_with_its_state_in_postgresql(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path, postgres_url: str
) -> None:
    """A firewall on a second host (its own folder, nothing shared but PostgreSQL and the
    provisioned secrets) joins, the first leaves, and only then do the police answer, so the
    second host assesses answers to referrals the first opened: one package each, one
    verifiable log, no state file on either host."""
    url = _database(postgres_url, topology, "hosts")
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
        assert_nothing_quarantined(flow.services["firewall"], second)
    assert_one_package_each(packages, want)
    assert not list(host_2.rglob("*.db")), "the second host kept state of its own"
    assert not list((host_1 / "state").rglob("*.db")), "a service kept state in SQLite"
    assert_log_accounts_for(url, keys, want)


def assert_nothing_quarantined(*instances: Any) -> None:
    """No instance refused a message: a record handed over with its partition after the
    previous owner had processed it is skipped as a redelivery, never quarantined as a
    replay."""
    registries = [built.runner.metrics.registry for built in instances]
    refused = [r.get_sample_value("mash_errors_total", {"reason": "rejected"}) for r in registries]
    assert refused == [None] * len(instances), refused


def _database(postgres_url: str, topology: Topology, purpose: str) -> str:
    """A database of this test's own on the session's server; its URL."""
    import psycopg

    database = f"{purpose}_" + topology.namespace.replace("-", "_")
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {database}")
    return postgres_url.rsplit("/", 1)[0] + "/" + database


async def test_two_firewall_processes_open_one_referral_for_concerns_raised_at_once(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path, postgres_url: str
) -> None:
    """A second firewall process shares the first's state in PostgreSQL; school and health
    visitor raise concerns about one child at the same moment, each pair split between the
    two instances: every child gets one referral with both contacts, never two."""
    url = _database(postgres_url, topology, "race")
    port = _free_port()
    env = {
        **os.environ,
        "MASH_HOME": str(tmp_path),
        "MASH_NAMESPACE": topology.namespace,
        "MASH_KEYS_DIR": str(keys.store.folder),
        "MASH_KEY_PASSPHRASE": "test-passphrase-firewall",
        "MASH_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "MASH_KAFKA_USERNAME": "firewall",
        "MASH_KAFKA_PASSWORD": kafka.password("firewall"),
        "MASH_STATE_URL": url,
        "MASH_LOG_URL": url,
        "MASH_POLL_TIMEOUT_MS": "100",
        "MASH_HEALTH_PORT": str(port),
        "MASH_LOG_LEVEL": "WARNING",
    }
    async with running_flow(
        kafka, topology, keys, tmp_path, log_url=url, state_url=url, only=("firewall",)
    ) as flow:
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", "firewall", env=env, start_new_session=True
        )
        try:
            await _ready(port)
            await asyncio.sleep(3)  # the group rebalances: three partitions each
            pairs = _split_pairs(tmp_path / "sources", count=8)
            await asyncio.gather(  # both agencies at once
                raise_as(flow, "education", *(school for school, _ in pairs)),
                raise_as(flow, "health", *(health for _, health in pairs)),
            )
            state = FirewallState(flow.settings["firewall"].state_store("firewall", "r.db"))
            try:
                found = await _referrals_per_child(state, pairs)
            finally:
                state.close()
            theirs = await _concerns_handled(port)
        finally:
            if other.returncode is None:
                other.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await other.wait() == 0, "SIGTERM must end the service cleanly"
        ours = flow.services["firewall"].runner.processed
    assert found == {i: 1 for i in range(len(pairs))}, "a child got two referrals"
    assert theirs > 0 and ours > 0, "each instance handled some of the concerns"


def _free_port() -> int:
    """A TCP port nobody listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _ready(port: int) -> None:
    """Wait until the service on ``port`` says it is ready."""
    import aiohttp

    async with aiohttp.ClientSession() as http, asyncio.timeout(60):
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)


async def _concerns_handled(port: int) -> float:
    """How many concerns the service on ``port`` consumed (its /metrics)."""
    import aiohttp
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as m:
        text = await m.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "mash_messages_in_total" and ".mash.concerns." in sample.labels["topic"]
    )


def _split_pairs(sources: Path, count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``count`` pairs of concerns (school, health visitor) about distinct children, each pair
    keyed to partitions that range assignment gives to different instances of two (0-2 and
    3-5 of six)."""
    from hub.concerns import referral_id_for
    from hub.transport.partitioner import KeyPartitioner

    partitions = list(range(6))
    partition = KeyPartitioner()

    def half(referral_id: str) -> bool:
        return partition(referral_id.encode(), partitions, partitions) < 3

    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    children: set[str] = set()
    for n in range(10_000):
        school, health = f"SC-R{n}", f"HV-R{n}"
        if half(referral_id_for("EDUCATION", school)) == half(referral_id_for("HEALTH", health)):
            continue
        household = household_with_child(sources, ("education",), seed=n)
        if household in children:
            continue
        children.add(household)
        pairs.append(
            (
                referral_from_concern(
                    "education", raise_concern(sources, "education", household, reference=school)
                ),
                referral_from_concern(
                    "health", raise_concern(sources, "health", household, reference=health)
                ),
            )
        )
        if len(pairs) == count:
            return pairs
    raise AssertionError("too few split pairs")


async def _referrals_per_child(
    state: FirewallState, pairs: list[tuple[dict[str, Any], dict[str, Any]]]
) -> dict[int, int]:
    """Once every concern is handled (each pair's contacts all recorded), how many referrals
    each pair's child has."""

    def count() -> tuple[dict[int, int], int]:
        per_child, contacts = {}, 0
        for i, pair in enumerate(pairs):
            held = [state.referral(r["referral_id"]) for r in pair]
            per_child[i] = sum(h is not None for h in held)
            contacts += sum(len(h[1]["contacts"]) for h in held if h is not None)
        return per_child, contacts

    async with asyncio.timeout(90):
        while (found := count())[1] < 2 * len(pairs):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.5)
    return found[0]


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

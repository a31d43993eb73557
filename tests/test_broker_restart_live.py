"""A running adapter survives a broker restart mid-stream: nothing lost, nothing repeated."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.broker import LocalBroker
from hub.secrets import SecretStore
from hub.services import AdapterSettings, build
from hub.sources.generate import Population
from hub.topology import Topology
from tests.brokers import KafkaCluster
from tests.keyring import TestKeys
from tests.test_crash_live import _responses, _send_requests

pytestmark = pytest.mark.broker


async def test_adapter_recovers_when_the_broker_restarts(keys: TestKeys, tmp_path: Path) -> None:
    """Requests before and after a broker restart are all answered exactly once."""
    broker = LocalBroker(tmp_path / "broker-home", client_port=0, controller_port=0)
    restarted = LocalBroker(tmp_path / "broker-home")
    broker.start(timeout=120)
    try:
        cluster = KafkaCluster(
            "local", broker.admin_settings(), SecretStore(tmp_path / "broker-home" / "secrets")
        )
        topology = Topology.load(namespace="restart")
        cluster.provision(topology)
        Population(seed=9).write(tmp_path / "sources", 300)
        settings = AdapterSettings(
            home=tmp_path,
            namespace="restart",
            poll_timeout_ms=100,
            kafka=cluster.settings("police"),
        )
        built = build("adapter", "police", settings, key_store=keys.store)
        task = asyncio.create_task(built.runner.run())
        first = await _send_requests(cluster, topology, keys, tmp_path / "sources")
        async with asyncio.timeout(60):
            while built.runner.processed < len(first):
                await asyncio.sleep(0.05)
        broker.stop()
        await asyncio.sleep(3)  # the adapter keeps polling a broker that is gone
        restarted.start(timeout=120)
        second = await _send_requests(cluster, topology, keys, tmp_path / "sources", offset=100)
        async with asyncio.timeout(120):
            while built.runner.processed < len(first) + len(second):
                await asyncio.sleep(0.1)
        built.runner.request_stop()
        await task
        answered, dropped = await _responses(cluster, topology, keys, len(first | second))
        assert sorted(answered) == sorted(first | second) and dropped == 0
    finally:
        restarted.stop()  # the owner of the running process stops (and reaps) it
        broker.stop()

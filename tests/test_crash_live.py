"""Crash safety over the real broker: SIGTERM mid-batch and kill -9 lose nothing, and no
request is acted on twice downstream."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected, RejectReason
from hub.replay import MemorySeenMessages
from hub.services import AdapterSettings, build
from hub.sources.generate import Population, referral_for_household
from hub.topology import Topology
from hub.transport.kafka import KafkaPublisher, KafkaSubscription
from tests.brokers import KafkaCluster
from tests.flow import information_request, serve_until
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker
N = 40


async def _send_requests(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, sources: Path, offset: int = 0
) -> set[str]:
    referral = referral_for_household(sources, "LEVEL_2", seed=2)
    topic = topology.topic("mash.requests.police")
    ids = set()
    sealer = Sealer(keys.ring("firewall"))
    async with KafkaPublisher(kafka.settings("firewall")) as publisher:
        for i in range(offset, offset + N):
            request = information_request(referral, "police", f"req-{i}", f"ref-{i}")
            sealed, _ = sealer.seal(
                topic=topic,
                schema_name="mash.InformationRequest",
                record=request,
                recipients=["police"],
                correlation_id=f"ref-{i}",
            )
            await publisher.publish(topic, sealed, key=f"ref-{i}".encode())
            ids.add(f"req-{i}")
    return ids


async def _responses(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, expect: int
) -> tuple[list[str], int]:
    """(request ids answered, each once) and how many duplicates replay protection dropped."""
    topic = topology.topic("mash.responses.police")
    opener = Opener(keys.ring("firewall"), MemorySeenMessages())
    answered, dropped = [], 0
    group = topology.group_prefix("firewall") + "crash-check"
    async with KafkaSubscription(kafka.settings("firewall"), [topic], group) as sub:
        idle = 0
        async with asyncio.timeout(90):
            async for batch in sub.batches(timeout_ms=300):
                for m in batch:
                    try:
                        answered.append(opener.open(m.value, topic=topic).record["request_id"])
                    except MessageRejected as exc:
                        assert exc.reason is RejectReason.REPLAY
                        dropped += 1
                idle = 0 if batch else idle + 1
                if len(answered) >= expect and idle >= 5:
                    break
    return answered, dropped


async def _backlog(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, home: Path, max_batch: int
) -> tuple[set[str], AdapterSettings]:
    """N requests waiting for the police adapter, and its settings (batches of max_batch)."""
    Population(seed=9).write(home / "sources", 300)
    sent = await _send_requests(kafka, topology, keys, home / "sources")
    settings = AdapterSettings(
        home=home,
        namespace=topology.namespace,
        max_batch=max_batch,
        kafka=kafka.settings("police"),
        poll_timeout_ms=100,
    )
    return sent, settings


async def test_sigterm_mid_batch_loses_and_duplicates_nothing(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """Stop the adapter while it works through a backlog, start it again: every request is
    answered exactly once."""
    sent, settings = await _backlog(kafka, topology, keys, tmp_path, max_batch=5)
    first = build("adapter", "police", settings, key_store=keys.store)
    await serve_until(first, 8)
    assert 0 < first.runner.processed < N
    second = build("adapter", "police", settings, key_store=keys.store)
    task = asyncio.create_task(second.runner.run())
    async with asyncio.timeout(60):
        while first.runner.processed + second.runner.processed < N:
            await asyncio.sleep(0.05)
    second.runner.request_stop()
    await task
    answered, dropped = await _responses(kafka, topology, keys, N)
    assert sorted(answered) == sorted(sent) and dropped == 0


async def test_kill_9_and_restart_loses_nothing(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """kill -9 a `mash serve adapter police` process mid-stream and start it again: every
    request is answered; redelivered duplicates carry the same message id and are dropped."""
    Population(seed=9).write(tmp_path / "sources", 300)
    env = {
        **os.environ,
        "MASH_HOME": str(tmp_path),
        "MASH_NAMESPACE": topology.namespace,
        "MASH_KEYS_DIR": str(keys.store.folder),
        "MASH_KEY_PASSPHRASE": "test-passphrase-police",
        "MASH_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "MASH_KAFKA_USERNAME": "police",
        "MASH_KAFKA_PASSWORD": kafka.password("police"),
        "MASH_MAX_BATCH": "3",
        "MASH_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "hub", "serve", "adapter", "police"]
    sent = await _send_requests(kafka, topology, keys, tmp_path / "sources")
    first = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await _wait_for_some_responses(kafka, topology, keys)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    second = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        answered, _ = await _responses(kafka, topology, keys, N)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, "SIGTERM must end the service cleanly"
    assert sorted(answered) == sorted(sent)


async def _wait_for_some_responses(kafka: KafkaCluster, topology: Topology, keys: TestKeys) -> None:
    topic = topology.topic("mash.responses.police")
    group = topology.group_prefix("firewall") + "crash-peek"
    async with KafkaSubscription(kafka.settings("firewall"), [topic], group) as sub:
        seen = 0
        async with asyncio.timeout(90):
            async for batch in sub.batches(timeout_ms=100):
                seen += len(batch)
                if seen >= 3:
                    return


async def test_a_stop_before_the_offsets_are_committed_redelivers_without_quarantine(
    kafka: KafkaCluster,
    topology: Topology,
    keys: TestKeys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The adapter records every request processed but stops before committing an offset
    (as a crash in that window, or a partition moving to another instance): started again,
    it is handed the same records, skips each as a redelivery, quarantines none as a replay
    and answers none twice."""
    sent, settings = await _backlog(kafka, topology, keys, tmp_path, max_batch=10)

    async def never(self: KafkaSubscription, messages: object) -> None:
        """The offsets are not committed (the process is gone before it can)."""

    with monkeypatch.context() as patched:
        patched.setattr(KafkaSubscription, "commit", never)
        first = build("adapter", "police", settings, key_store=keys.store)
        await serve_until(first, N)
    assert first.runner.processed == N
    second = build("adapter", "police", settings, key_store=keys.store)
    task = asyncio.create_task(second.runner.run())
    registry = second.runner.metrics.registry
    try:
        async with asyncio.timeout(60):
            while (registry.get_sample_value("mash_messages_redelivered_total") or 0) < N:
                await asyncio.sleep(0.05)
    finally:
        second.runner.request_stop()
        await task
    assert second.runner.processed == 0
    assert registry.get_sample_value("mash_errors_total", {"reason": "rejected"}) is None
    answered, dropped = await _responses(kafka, topology, keys, N)
    assert sorted(answered) == sorted(sent) and dropped == 0


@pytest.mark.parametrize("apart", [False, True], ids=["one-batch", "two-batches"])
async def test_a_request_the_firewall_sealed_again_is_skipped_not_quarantined(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path, apart: bool
) -> None:
    """The firewall redid its work after a restart and sealed a request again (same message
    id, a new envelope): the adapter answers the first and skips the second as a re-send,
    whether both come in one batch or the second after the first was recorded; the first
    envelope published again is still quarantined as a REPLAY."""
    Population(seed=9).write(tmp_path / "sources", 300)
    referral = referral_for_household(tmp_path / "sources", "LEVEL_2", seed=2)
    topic = topology.topic("mash.requests.police")
    request = information_request(referral, "police", "req-again", "ref-again")
    how = {
        "topic": topic,
        "schema_name": "mash.InformationRequest",
        "recipients": ["police"],
        "correlation_id": "ref-again",
        "message_id": "5d1c0b7a-0000-4000-8000-00000000aa01",
    }
    sealer = Sealer(keys.ring("firewall"))
    first, _ = sealer.seal(record=request, **how)  # type: ignore[arg-type]
    again, _ = sealer.seal(record=request, **how)  # type: ignore[arg-type]
    settings = AdapterSettings(
        home=tmp_path,
        namespace=topology.namespace,
        kafka=kafka.settings("police"),
        poll_timeout_ms=100,
    )
    adapter = build("adapter", "police", settings, key_store=keys.store)
    task = asyncio.create_task(adapter.runner.run())
    registry = adapter.runner.metrics.registry

    def count(name: str, labels: dict[str, str] | None = None) -> float:
        return registry.get_sample_value(name, labels or {}) or 0

    try:
        async with KafkaPublisher(kafka.settings("firewall")) as publisher:
            together = [first] if apart else [first, again]
            await publisher.publish_all([(topic, data, b"ref-again") for data in together])
            if apart:
                async with asyncio.timeout(60):
                    while adapter.runner.processed < 1:
                        await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)  # recorded processed at the end of its batch
                await publisher.publish(topic, again, key=b"ref-again")
            async with asyncio.timeout(60):
                while count("mash_messages_resent_total") < 1:
                    await asyncio.sleep(0.05)
            await publisher.publish(topic, first, key=b"ref-again")  # a copy, published again
            async with asyncio.timeout(60):
                while count("mash_errors_total", {"reason": "rejected"}) < 1:
                    await asyncio.sleep(0.05)
    finally:
        adapter.runner.request_stop()
        await task
    assert adapter.runner.processed == 1 and count("mash_messages_resent_total") == 1
    assert count("mash_errors_total", {"reason": "rejected"}) == 1  # the copy, as a REPLAY
    answered, dropped = await _responses(kafka, topology, keys, 1)
    assert answered == ["req-again"] and dropped == 0

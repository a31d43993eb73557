"""Over the real broker: tampered, forged, replayed and garbage messages end in quarantine with
their reason while valid traffic keeps flowing, and nothing decrypted reaches logs or disks."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import time
from pathlib import Path

import pytest
import structlog

from hub.envelope import Opener, Sealer
from hub.envelope.archive import ArchiveOpener
from hub.envelope.format import EnvelopeCodec
from hub.quarantine import Inbox
from hub.quarantine_review import counts, open_all
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.topology import Topology
from hub.transport.base import Consumed
from hub.transport.kafka import KafkaPublisher, KafkaSubscription, read_to_end
from tests.brokers import KafkaCluster
from tests.forge import parse, resign
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


async def _consume(subscription: KafkaSubscription, count: int) -> list[Consumed]:
    got: list[Consumed] = []
    async with asyncio.timeout(60):
        async for batch in subscription.batches(timeout_ms=200):
            got.extend(batch)
            if len(got) >= count:
                return got
    return got


async def test_bad_messages_are_quarantined_and_good_ones_flow(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """Valid, tampered, forged, valid, replayed, garbage, valid: 3 processed, 4 quarantined."""
    log_sink = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(log_sink),
    )
    handler = logging.StreamHandler(log_sink)
    logging.getLogger().addHandler(handler)
    try:
        await _scenario(kafka, topology, keys, log_sink)
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()


async def _scenario(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, log_sink: io.StringIO
) -> None:
    responses = topology.topic("mash.responses.police")
    quarantine = topology.topic("mash.quarantine")
    samples = Samples(seed=99)
    police = Sealer(keys.ring("police"))
    envelopes = EnvelopeCodec(police.codec.registry)

    def valid() -> tuple[bytes, dict]:
        record = samples.agency_response("POLICE")
        data, _ = police.seal(
            topic=responses,
            schema_name="mash.AgencyResponse",
            record=record,
            recipients=["firewall"],
            correlation_id=record["referral_id"],
        )
        return data, record

    good1, rec1 = valid()
    sealed, _ = parse(envelopes, valid()[0])
    tampered = envelopes.encode_sealed(
        dataclasses.replace(
            sealed, ciphertext=bytes([sealed.ciphertext[0] ^ 0xFF]) + sealed.ciphertext[1:]
        )
    )
    forged = resign(envelopes, parse(envelopes, valid()[0])[0], keys.ring("health").signing_key)
    good2, rec2 = valid()
    good3, rec3 = valid()
    sent = [good1, tampered, forged, good2, good1, b"\x00not-a-message", good3]
    async with KafkaPublisher(kafka.settings("police")) as producer:
        for value in sent:
            await producer.publish(responses, value, key=b"ref-1")

    processed: list[dict] = []
    group = topology.group_prefix("firewall") + "quarantine-test"
    async with (
        KafkaPublisher(kafka.settings("firewall")) as firewall_out,
        KafkaSubscription(kafka.settings("firewall"), [responses], group) as inbound,
    ):
        inbox = Inbox(
            service="firewall",
            opener=Opener(keys.ring("firewall"), MemorySeenMessages()),
            sealer=Sealer(keys.ring("firewall")),
            publisher=firewall_out,
            quarantine_topic=quarantine,
        )
        messages = await _consume(inbound, len(sent))
        for message in messages:
            opened = await inbox.receive(message, expect={"mash.AgencyResponse"})
            if opened is not None:
                processed.append(opened.record)
                inbox.processed(opened)
            await inbound.commit([message])
        partition = messages[0].partition
        assert await inbound.committed(responses, partition) == messages[-1].offset + 1

    assert processed == [rec1, rec2, rec3]
    assert inbox.quarantined == 4

    # Information governance's review: the whole topic read to its end as the auditor, with
    # no consumer group, each record stamped by the broker (LogAppendTime) and opened as then.
    archived = await read_to_end(kafka.settings("auditor"), quarantine)
    assert len(archived) == 4
    for m in archived:
        assert m.timestamp_ms is not None
        assert abs(m.timestamp_ms / 1000 - time.time()) < 120
    found, unreadable = open_all(archived, ArchiveOpener(keys.ring("auditor")))
    assert unreadable == []
    records = [q.record for q in found]
    with pytest.raises(LookupError, match="TopicAuthorizationFailed"):
        await read_to_end(kafka.settings("police"), quarantine)  # writes there; cannot read
    assert counts(found) == {
        ("firewall", "BAD_SIGNATURE"): 2,
        ("firewall", "REPLAY"): 1,
        ("firewall", "MALFORMED"): 1,
    }
    by_offset = {r["offset"]: r for r in records}
    offsets = [m.offset for m in messages]
    assert by_offset[offsets[1]]["reason"] == "BAD_SIGNATURE"
    assert by_offset[offsets[2]]["reason"] == "BAD_SIGNATURE"
    assert by_offset[offsets[4]]["reason"] == "REPLAY"
    assert by_offset[offsets[5]]["reason"] == "MALFORMED"
    for r in records:
        assert r["source_topic"] == responses and r["service"] == "firewall"
        assert r["sealed"] == messages[offsets.index(r["offset"])].value

    logs = log_sink.getvalue()
    assert "message_quarantined" in logs
    for record in (rec1, rec2, rec3):
        for subject in record["subjects"]:
            findings = json.dumps(subject["records"], default=str)
            narrative = json.loads(findings)["crime_reports"][0]["narrative"]
            assert narrative not in logs
    if kafka.data_dir is not None:
        narrative = rec1["subjects"][0]["records"]["crime_reports"][0]["narrative"].encode()
        for segment in kafka.data_dir.rglob("*.log"):
            assert narrative not in segment.read_bytes(), f"plaintext on broker disk: {segment}"

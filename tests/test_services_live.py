"""Services over the real broker: adapters, chasers and partial packages, escalation,
health endpoints, and logs free of personal data."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import structlog

from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected, RejectReason
from hub.replay import MemorySeenMessages
from hub.services import AdapterSettings, build
from hub.sources.generate import referral_for_household
from hub.timescales import Timescales
from hub.topology import Topology
from tests.brokers import KafkaCluster
from tests.flow import information_request, running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


async def _request_as_firewall(
    flow,
    keys: TestKeys,
    agency: str,
    referral: dict,  # type: ignore[no-untyped-def]
    copies: int = 1,
) -> None:
    topic = flow.topology.topic(f"mash.requests.{agency}")
    request = information_request(referral, agency, "req-" + referral["referral_id"])
    publisher = await flow.publisher("firewall")
    try:
        for _ in range(copies):
            sealed, _ = Sealer(keys.ring("firewall")).seal(
                topic=topic,
                schema_name="mash.InformationRequest",
                record=request,
                recipients=[agency],
                correlation_id=referral["referral_id"],
            )
            await publisher.publish(topic, sealed, key=b"k")
    finally:
        await publisher.stop()


@pytest.mark.parametrize("agency", ["police", "health", "education", "housing"])
async def test_adapter_answers_sealed_to_the_firewall_only(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path, agency: str
) -> None:
    """Request in, response out: readable by the firewall, not by the collator; the same
    request answered twice carries one response id."""
    async with running_flow(kafka, topology, keys, tmp_path, only=(agency,)) as flow:
        referral = referral_for_household(tmp_path / "sources", "LEVEL_2", seed=3, known_to=agency)
        await _request_as_firewall(flow, keys, agency, referral, copies=2)
        topic = topology.topic(f"mash.responses.{agency}")
        raw = await _raw(flow, topic, 2)
    responses = [
        Opener(keys.ring("firewall"), MemorySeenMessages()).open(m, topic=topic).record for m in raw
    ]
    assert responses[0]["response_id"] == responses[1]["response_id"]
    matched = [s for s in responses[0]["subjects"] if s["match"]["confidence"] != "NO_MATCH"]
    assert matched, "the household the agency holds records about was not matched"
    with pytest.raises(MessageRejected) as caught:
        Opener(keys.ring("collator"), MemorySeenMessages()).open(raw[0], topic=topic)
    assert caught.value.reason is RejectReason.NOT_A_RECIPIENT


async def _raw(flow, topic: str, count: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    from hub.transport.kafka import KafkaSubscription

    group = flow.topology.group_prefix("firewall") + "raw-reader"
    out: list[bytes] = []
    async with KafkaSubscription(flow.kafka.settings("firewall"), [topic], group) as sub:
        async with asyncio.timeout(60):
            async for batch in sub.batches(timeout_ms=200):
                out.extend(m.value for m in batch)
                if len(out) >= count:
                    return out
    return out


async def test_silent_agency_is_chased_then_marked_no_response(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """Housing does not answer: two chasers go out, the package comes at the deadline without
    it; when housing finally answers (to all three requests), one addendum carries it."""
    scales = Timescales(level2_package=timedelta(seconds=8), chaser_points=(0.25, 0.5))
    running = ("firewall", "collator", "police", "health", "education")
    async with running_flow(
        kafka, topology, keys, tmp_path, timescales=scales, only=running
    ) as flow:
        referral = referral_for_household(tmp_path / "sources", "LEVEL_2", seed=4)
        from datetime import UTC, datetime

        referral["received_at"] = datetime.now(UTC)
        await flow.refer(referral)
        package = (await flow.read("mash.packages", "dutymanager", 1, wait_s=60))[0]
        requests = await flow.read("mash.requests.housing", "housing", 3, wait_s=30)
        late = build(
            "adapter",
            "housing",
            AdapterSettings(
                home=tmp_path,
                namespace=topology.namespace,
                poll_timeout_ms=100,
                kafka=kafka.settings("housing"),
            ),
            key_store=keys.store,
        )
        task = asyncio.create_task(late.runner.run())
        try:
            addendum = (await flow.read("mash.packages", "dutymanager", 2, wait_s=60))[1]
            with pytest.raises(TimeoutError):  # the answers to the chasers add nothing more
                await flow.read("mash.packages", "dutymanager", 3, wait_s=6)
        finally:
            late.runner.request_stop()
            await task
    assert addendum["addendum"] == 1 and [f["agency"] for f in addendum["findings"]] == ["HOUSING"]
    assert {a["agency"]: a["answer"] for a in addendum["agencies"]}["HOUSING"] == "ANSWERED_LATE"
    statuses = {a["agency"]: (a["answer"], a["chasers"]) for a in package["agencies"]}
    assert statuses["HOUSING"] == ("NO_RESPONSE", 2)
    assert {statuses[a][0] for a in ("POLICE", "HEALTH", "EDUCATION")} == {"ANSWERED"}
    assert [r["chaser"] for r in requests] == [0, 1, 2]
    assert {f["agency"] for f in package["findings"]} == {"POLICE", "HEALTH", "EDUCATION"}


async def test_escalation_mid_flight_notifies_and_releases_more(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """A Level 1 referral escalated to Level 3: immediate notification, and an addendum with
    what the new level allows, the level history recorded."""
    async with running_flow(kafka, topology, keys, tmp_path) as flow:
        referral = referral_for_household(
            tmp_path / "sources", "LEVEL_1", seed=6, known_to="police"
        )
        referral["locality"] = "EAST"
        await flow.refer(referral)
        first = (await flow.read("mash.packages", "dutymanager", 1))[0]
        from datetime import UTC, datetime

        relevel = {
            "referral_id": referral["referral_id"],
            "level": "LEVEL_3",
            "reason": "new information: injury disclosed",
            "decided_by": "duty manager",
            "at": datetime.now(UTC),
        }
        await flow.refer(relevel, schema_name="mash.Relevel")
        notices = await flow.read("mash.notifications", "dutymanager", 1)
        packages = await flow.read("mash.packages", "dutymanager", 2)
    assert first["level"] == "LEVEL_1"
    assert notices[0]["referral_id"] == referral["referral_id"]
    addendum = packages[1]
    assert addendum["addendum"] == 1 and addendum["level"] == "LEVEL_3"
    assert [h["to_level"] for h in addendum["level_history"]] == ["LEVEL_1", "LEVEL_3"]
    assert {f["level"] for f in addendum["findings"]} == {"LEVEL_3"}


async def test_health_readiness_metrics_and_no_personal_data_in_logs(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """While serving: /healthz and /readyz answer 200 and /metrics counts messages; the
    JSON logs of a full run contain no names, dates of birth or identifiers."""
    sink = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sink),
    )
    handler = logging.StreamHandler(sink)
    logging.getLogger().addHandler(handler)
    try:
        async with running_flow(kafka, topology, keys, tmp_path) as flow:
            referral = referral_for_household(
                tmp_path / "sources", "LEVEL_3", seed=8, known_to="police"
            )
            await flow.refer(referral)
            await flow.read("mash.packages", "dutymanager", 1)
            port = flow.services["firewall"].runner.health.port
            async with aiohttp.ClientSession() as http:
                for path in ("/healthz", "/readyz"):
                    async with http.get(f"http://127.0.0.1:{port}{path}") as answer:
                        assert answer.status == 200, path
                async with http.get(f"http://127.0.0.1:{port}/metrics") as answer:
                    metrics = await answer.text()
            assert 'mash_messages_in_total{topic="' in metrics
            assert "mash_consumer_lag" in metrics
            port = flow.services["collator"].runner.health.port
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/metrics") as answer,
            ):
                sla = await answer.text()
            assert 'mash_time_to_package_seconds_count{level="LEVEL_3"} 1.0' in sla
            assert 'mash_referrals_open{level="LEVEL_3"} 0.0' in sla
            assert "mash_deadlines_breached_total" in sla
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()
    logs = sink.getvalue()
    assert "package_assembled" in logs and "case_opened" in logs
    for subject in referral["subjects"]:
        for secret in (
            subject["given_names"],
            subject["family_name"],
            subject["date_of_birth"].isoformat(),
            subject["identifiers"]["nhs_number"],
        ):
            assert secret not in logs, "personal data in logs"
    for line in logs.splitlines():
        if line.startswith("{"):
            json.loads(line)

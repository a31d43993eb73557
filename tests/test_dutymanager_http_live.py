"""Decisions over HTTP on the real broker: refused with the reason before the package (below
Level 3) or for an unknown referral; accepted, sealed to the firewall, once the package is in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from hub.corrections import send_notices
from hub.dutymanager import Inbox
from hub.dutymanager_http import dutymanager_app
from hub.envelope import Opener, Sealer
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.topology import Topology
from hub.transport.kafka import KafkaPublisher, KafkaSubscription
from tests.brokers import KafkaCluster
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


@asynccontextmanager
async def _serving(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, inbox: Inbox
) -> AsyncIterator[str]:
    """The duty manager's HTTP API over ``inbox`` on a free port; its base URL."""
    settings = kafka.settings("dutymanager")
    async with KafkaPublisher(settings) as publisher:
        app = dutymanager_app(inbox, keys.ring("dutymanager"), settings, topology, publisher)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


async def test_post_decision(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """422 without a package or with a bad outcome; 202 and a sealed decision once packaged."""
    inbox = Inbox(tmp_path / "inbox.db")
    package = Samples().information_package()
    rid = package["referral_id"]
    body = {"outcome": "s17-assessment", "reason": "child in need", "decided_by": "DM 1"}
    async with _serving(kafka, topology, keys, inbox) as base, aiohttp.ClientSession() as http:
        url = f"{base}/referrals/{rid}/decision"
        async with http.post(url, json=body) as answer:
            assert answer.status == 422
            assert "no referral" in (await answer.json())["error"]
        inbox.add("mash.Notification", {**Samples().notification(), "referral_id": "x"})
        inbox.add("mash.InformationPackage", package)
        async with http.post(url, json={**body, "outcome": "adopt"}) as answer:
            assert answer.status == 422
            assert "unknown outcome" in (await answer.json())["error"]
        async with http.post(url, json=body) as answer:
            assert answer.status == 202
            accepted = await answer.json()
    assert accepted["referral_id"] == rid and accepted["outcome"] == "S17_ASSESSMENT"
    topic = topology.topic("mash.decisions")
    group = topology.group_prefix("firewall") + "http-test"
    opener = Opener(keys.ring("firewall"), MemorySeenMessages())
    async with KafkaSubscription(kafka.settings("firewall"), [topic], group) as sub:
        async with asyncio.timeout(30):
            async for batch in sub.batches(timeout_ms=300):
                if batch:
                    opened = opener.open(batch[0].value, topic=topic)
                    break
    assert opened.header.sender == "dutymanager"
    assert opened.record["decision_id"] == accepted["decision_id"]
    assert opened.record["decided_by"] == "DM 1"
    inbox.close()


async def test_get_corrections(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """A correction IG sent to the duty manager is served for its referral and in the list
    of all corrections; another referral has none."""
    notice = {**Samples().correction(), "referral_id": "ref-corrected"}
    async with KafkaPublisher(kafka.settings("auditor")) as auditor:
        told, _ = await send_notices(
            notice, ["collator"], Sealer(keys.ring("auditor")), topology, auditor
        )
    assert told == ["dutymanager"]
    inbox = Inbox(tmp_path / "inbox.db")
    async with _serving(kafka, topology, keys, inbox) as base, aiohttp.ClientSession() as http:
        async with http.get(f"{base}/referrals/ref-corrected/corrections") as answer:
            assert answer.status == 200
            [served] = await answer.json()
        async with http.get(f"{base}/referrals/ref-other/corrections") as answer:
            assert await answer.json() == []
        async with http.get(f"{base}/corrections") as answer:
            assert [c["correction_id"] for c in await answer.json()] == [notice["correction_id"]]
    inbox.close()
    assert served["kind"] == "WRONG_PERSON" and served["personal_data_breach"] is True
    assert served["record_id"] == notice["record_id"]
    assert served["decided_at"] == notice["decided_at"].isoformat()

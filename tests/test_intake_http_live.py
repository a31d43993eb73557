"""The HTTP front door over the real broker: invalid referrals get 422 with the problems,
valid ones 201 and arrive sealed to the firewall."""

from __future__ import annotations

import json
from datetime import date

import aiohttp
import pytest
from aiohttp import web

from hub.envelope import Opener
from hub.intake_http import intake_app
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.topology import Topology
from hub.transport.kafka import KafkaPublisher, KafkaSubscription
from tests.brokers import KafkaCluster
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


async def test_post_referral(kafka: KafkaCluster, topology: Topology, keys: TestKeys) -> None:
    """POST /referrals: 422 naming the problem, or 201 and a sealed referral on the topic."""
    referral = _jsonable(Samples().referral("LEVEL_2"))
    assert isinstance(referral, dict)
    bad = json.loads(json.dumps(referral))
    bad["subjects"] = [s for s in bad["subjects"] if s["role"] != "CHILD"]
    async with KafkaPublisher(kafka.settings("intake")) as publisher:
        runner = web.AppRunner(intake_app(keys.ring("intake"), topology, publisher))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{port}/referrals"
                async with http.post(url, json=bad) as answer:
                    assert answer.status == 422
                    assert (
                        "at least one subject must have role CHILD"
                        in (await answer.json())["problems"]
                    )
                async with http.post(url, data=b"not json") as answer:
                    assert answer.status == 400
                async with http.post(url, json=referral) as answer:
                    assert answer.status == 201
                    created = await answer.json()
        finally:
            await runner.cleanup()
    topic = topology.topic("mash.referrals")
    group = topology.group_prefix("firewall") + "http-test"
    async with KafkaSubscription(kafka.settings("firewall"), [topic], group) as sub:
        async for batch in sub.batches(timeout_ms=500):
            if batch:
                opened = Opener(keys.ring("firewall"), MemorySeenMessages()).open(
                    batch[0].value, topic=topic
                )
                break
    assert created == {"referral_id": referral["referral_id"], "level": "LEVEL_2"}
    assert opened.header.sender == "intake"
    assert opened.record["referral_id"] == referral["referral_id"]

"""Runs the whole MASH flow in one event loop for tests: firewall, collator and four adapters
against the real broker, each as its own service runner with its own principal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected, RejectReason
from hub.replay import MemorySeenMessages
from hub.services import AdapterSettings, Built, CollatorSettings, FirewallSettings, build
from hub.sources.generate import Population
from hub.timescales import Timescales
from hub.topology import Topology
from hub.transport.kafka import KafkaPublisher, KafkaSubscription
from tests.brokers import KafkaCluster
from tests.keyring import TestKeys

AGENCIES = ("police", "health", "education", "housing")


async def serve_until(built: Built, processed: int, timeout_s: float = 60) -> None:
    """Run a service until it has processed ``processed`` messages, then stop it cleanly
    (it finishes its batch, commits and closes)."""
    task = asyncio.create_task(built.runner.run())
    try:
        async with asyncio.timeout(timeout_s):
            while built.runner.processed < processed:  # noqa: ASYNC110 - a counter, polled
                await asyncio.sleep(0.01)
    finally:
        built.runner.request_stop()
        await task


def information_request(
    referral: dict[str, Any], agency: str, request_id: str, referral_id: str | None = None
) -> dict[str, Any]:
    """An InformationRequest about ``referral``'s subjects, as the firewall would send it."""
    return {
        "request_id": request_id,
        "referral_id": referral_id or referral["referral_id"],
        "agency": agency.upper(),
        "level": "LEVEL_2",
        "purpose": "test",
        "lawful_basis": {
            "gdpr_article6": "6(1)(e)",
            "gdpr_article9": "9(2)(g)",
            "dpa_schedule1": "para 18",
            "law_enforcement": "",
            "statute": "",
        },
        "issued_at": referral["received_at"],
        "deadline": referral["received_at"],
        "subjects": referral["subjects"],
        "chaser": 0,
    }


@dataclass
class Flow:
    """Handles on the running services and helpers to read their outputs."""

    kafka: KafkaCluster
    topology: Topology
    keys: TestKeys
    home: Path
    services: dict[str, Built] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    async def read(
        self, logical: str, principal: str, count: int, wait_s: float = 60
    ) -> list[dict[str, Any]]:
        """Open ``count`` messages of a topic as ``principal`` (from the beginning)."""
        topic = self.topology.topic(logical)
        opener = Opener(self.keys.ring(principal), MemorySeenMessages())
        group = self.topology.group_prefix(principal) + f"test-{id(self)}-{logical}"
        out: list[dict[str, Any]] = []
        async with KafkaSubscription(self.kafka.settings(principal), [topic], group) as sub:
            async with asyncio.timeout(wait_s):
                async for batch in sub.batches(timeout_ms=200):
                    out.extend(opener.open(m.value, topic=topic).record for m in batch)
                    if len(out) >= count:
                        return out
        return out

    async def start(
        self, name: str, kind: str, agency: str | None, settings: Any, wait: bool = True
    ) -> Built:
        """Start one more service instance (e.g. a second firewall in the same group)."""
        built = build(kind, agency, settings, key_store=self.keys.store)
        self.services[name] = built
        self.tasks.append(asyncio.create_task(built.runner.run(), name=name))
        if wait:
            async with asyncio.timeout(60):
                await built.runner.started.wait()
        return built

    async def refer(self, *records: dict[str, Any], schema_name: str = "mash.Referral") -> None:
        """Publish referrals (or re-levelling commands) as the front door does."""
        from hub.intake import publish_referral

        intake = await self.publisher("intake")
        try:
            for record in records:
                await publish_referral(
                    record, self.keys.ring("intake"), self.topology, intake, schema_name
                )
        finally:
            await intake.stop()

    async def publisher(self, principal: str) -> KafkaPublisher:
        """A started publisher for ``principal`` (caller stops it)."""
        publisher = KafkaPublisher(self.kafka.settings(principal))
        await publisher.start()
        return publisher


async def raise_as(flow: Flow, agency: str, *referrals: dict[str, Any]) -> None:
    """Publish concerns as ``agency``'s system would (sealed to the firewall, on its own topic,
    keyed by referral), back to back."""
    publisher = await flow.publisher(agency)
    try:
        topic = flow.topology.topic(f"mash.concerns.{agency}")
        for referral in referrals:
            sealed, _ = Sealer(flow.keys.ring(agency)).seal(
                topic=topic,
                schema_name="mash.Referral",
                record=referral,
                recipients=["firewall"],
                correlation_id=referral["referral_id"],
            )
            await publisher.publish(topic, sealed, key=referral["referral_id"].encode())
    finally:
        await publisher.stop()


@asynccontextmanager
async def running_flow(
    kafka: KafkaCluster,
    topology: Topology,
    keys: TestKeys,
    home: Path,
    people: int = 600,
    timescales: Timescales | None = None,
    only: tuple[str, ...] | None = None,
    log_url: str | None = None,
    state_url: str | None = None,
) -> AsyncIterator[Flow]:
    """Generate sources, start every service (their state in PostgreSQL with ``state_url``),
    yield, then stop them all (SIGTERM path)."""
    Population(seed=5).write(home / "sources", people)
    flow = Flow(kafka, topology, keys, home)
    scales = timescales or Timescales()
    common = {
        "home": home,
        "namespace": topology.namespace,
        "poll_timeout_ms": 100,
        "state_url": state_url,
    }
    specs: list[tuple[str, str | None, Any]] = [
        (
            "firewall",
            None,
            FirewallSettings(
                **common,
                kafka=kafka.settings("firewall"),
                timescales=scales,
                checkpoint_interval_s=1.0,
                log_url=log_url,
            ),
        ),
        (
            "collator",
            None,
            CollatorSettings(**common, kafka=kafka.settings("collator"), timescales=scales),
        ),
    ] + [("adapter", a, AdapterSettings(**common, kafka=kafka.settings(a))) for a in AGENCIES]
    flow.settings = {agency or kind: settings for kind, agency, settings in specs}
    try:
        for kind, agency, settings in specs:
            name = agency or kind
            if only is None or name in only:
                await flow.start(name, kind, agency, settings, wait=False)
        async with asyncio.timeout(60):
            for built in flow.services.values():
                await built.runner.started.wait()
        yield flow
    finally:
        for built in flow.services.values():
            built.runner.request_stop()
        await asyncio.gather(*flow.tasks, return_exceptions=True)


async def packages_for(flow: Flow, want: set[str], wait_s: float = 120) -> tuple[list[Any], int]:
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


def assert_one_package_each(packages: list[Any], want: set[str]) -> None:
    """Every referral in ``want`` got exactly one first package (addendum 0), each its own."""
    firsts = [p for p in packages if p["addendum"] == 0 and p["referral_id"] in want]
    per_referral = {rid: sum(p["referral_id"] == rid for p in firsts) for rid in want}
    assert set(per_referral.values()) == {1}, per_referral
    assert len({p["package_id"] for p in firsts}) == len(want)


def assert_log_accounts_for(url: str, keys: TestKeys, want: set[str]) -> None:
    """The disclosure log at ``url`` names every referral in ``want`` and verifies."""
    from hub.disclosure_log import DisclosureLog, verify_log

    log = DisclosureLog(url)
    try:
        assert want <= {e.body["correlation_id"] for e in log.entries()}
        report = verify_log(log, [keys.ring("firewall").signing_key.public_key()])
        assert report.ok, report.problems
    finally:
        log.close()

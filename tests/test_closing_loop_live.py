"""Closing the loop over the real broker: concerns raised by agencies' own systems become
referrals (de-duplicated, linked), are packaged, decided, disseminated to the right team under
its rules, and fed back to whoever raised them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.concerns import referral_from_concern, referral_id_for
from hub.dutymanager import publish_decision
from hub.envelope import Opener
from hub.policy.model import load_policy
from hub.replay import MemorySeenMessages
from hub.sources.concerns import household_with_child, raise_concern
from hub.topology import Topology
from hub.transport.kafka import KafkaSubscription
from tests.brokers import KafkaCluster
from tests.flow import Flow, raise_as, running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker
Records = list[dict[str, Any]]


async def collect(
    flow: Flow, logical: str, principal: str, until: Callable[[Records], bool], wait_s: float = 60
) -> Records:
    """Every record on a topic (from the start, opened as ``principal``) once ``until`` holds."""
    topic = flow.topology.topic(logical)
    opener = Opener(flow.keys.ring(principal), MemorySeenMessages())
    group = flow.topology.group_prefix(principal) + f"test-{uuid.uuid4().hex[:8]}"
    out: Records = []
    async with KafkaSubscription(flow.kafka.settings(principal), [topic], group) as sub:
        async with asyncio.timeout(wait_s):
            async for batch in sub.batches(timeout_ms=200):
                out.extend(opener.open(m.value, topic=topic).record for m in batch)
                if until(out):
                    return out
    return out


async def eventually(check: Callable[[], Any], wait_s: float = 30) -> Any:
    """Poll ``check`` until it returns something truthy."""
    async with asyncio.timeout(wait_s):
        while not (found := check()):  # noqa: ASYNC110 - polling a service's database
            await asyncio.sleep(0.2)
    return found


async def decide(flow: Flow, referral_id: str, outcome: str, **extra: Any) -> dict[str, Any]:
    """Send a decision as the duty manager's tools do."""
    from datetime import UTC, datetime

    decision = {
        "decision_id": str(uuid.uuid4()),
        "referral_id": referral_id,
        "outcome": outcome,
        "reason": "threshold met for this outcome",
        "team": None,
        "lead_professional": None,
        "decided_by": "duty manager A",
        "decided_at": datetime.now(UTC),
        "before_package": False,
        "recipients": [],
        **extra,
    }
    publisher = await flow.publisher("dutymanager")
    try:
        await publish_decision(decision, flow.keys.ring("dutymanager"), flow.topology, publisher)
    finally:
        await publisher.stop()
    return decision


def _has(records: Records, key: str, value: Any) -> bool:
    return any(r.get(key) == value for r in records)


async def test_police_ppn_is_packaged_decided_disseminated_and_fed_back(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """A PPN raised in the police system (twice) becomes one referral and one package; an s47
    decision reaches social care and police, police hears the outcome without agency data;
    a later step-down reaches the locality team without police intelligence or narrative."""
    async with running_flow(kafka, topology, keys, tmp_path) as flow:
        sources = tmp_path / "sources"
        household = household_with_child(sources, ("education",), seed=3)
        ppn = raise_concern(sources, "police", household, reference="PPN-2026-0001")
        rid = referral_id_for("POLICE", "PPN-2026-0001")
        # The same PPN sent again by the police system (a resend with a new message id).
        await raise_as(flow, "police", referral_from_concern("police", ppn))

        packages = await collect(
            flow, "mash.packages", "dutymanager", lambda rs: _has(rs, "referral_id", rid)
        )
        package = next(p for p in packages if p["referral_id"] == rid)
        assert package["level"] == "LEVEL_2"
        assert [(c["source"], c["source_reference"]) for c in package["contacts"]] == [
            ("POLICE", "PPN-2026-0001")
        ]
        firewall = flow.services["firewall"].handler
        cases = firewall.state._db.execute("SELECT count(*) FROM referrals").fetchone()[0]  # type: ignore[attr-defined]
        assert cases == 1, "the same PPN raised twice must be one referral"

        decision = await decide(flow, rid, "S47_STRATEGY")
        confirmed = await collect(
            flow,
            "mash.packages",
            "dutymanager",
            lambda rs: _has(rs, "decision_id", decision["decision_id"]),
        )
        record = next(r for r in confirmed if r.get("decision_id") == decision["decision_id"])
        assert record["recipients"] == ["social-care-assessment", "police-strategy"]
        assert record["before_package"] is False

        products = await collect(
            flow,
            "mash.products.social-care-assessment",
            "dutymanager",
            lambda rs: _has(rs, "referral_id", rid),
        )
        assert products[0]["outcome"] == "S47_STRATEGY"
        assert {f["agency"] for f in products[0]["findings"]} == {
            "POLICE",
            "HEALTH",
            "EDUCATION",
            "HOUSING",
        }

        police = flow.services["police"].handler
        feedback = (
            await eventually(lambda: police.state.received("mash.Feedback"))  # type: ignore[attr-defined]
        )[0]
        assert feedback["outcome"] == "S47_STRATEGY"
        assert feedback["source_reference"] == "PPN-2026-0001"
        assert set(feedback) == {
            "feedback_id",
            "referral_id",
            "contact_id",
            "source_reference",
            "outcome",
            "team",
            "decided_at",
            "message",
            "advice",
        }
        text = repr(feedback)
        for subject in package["subjects"]:
            assert subject["family_name"] not in text
        assert decision["reason"] not in text
        for finding in package["findings"]:
            for s in finding["subjects"]:
                for item in s["items"]:
                    for value in item["fields"].values():
                        assert len(value) < 6 or value not in text
        strategy = await eventually(
            lambda: police.state.received("mash.InformationProduct")  # type: ignore[attr-defined]
        )
        assert strategy[0]["recipient"] == "police-strategy"

        step = await decide(
            flow,
            rid,
            "STEP_DOWN",
            team="EAST",
            lead_professional="A. Example, family support worker",
        )
        east = await collect(
            flow,
            "mash.products.locality-east",
            "locality-east",
            lambda rs: _has(rs, "referral_id", rid),
        )
        assert east[0]["lead_professional"] == "A. Example, family support worker"
        rules = load_policy().recipients["locality-east"]
        for finding in east[0]["findings"]:
            for s in finding["subjects"]:
                for item in s["items"]:
                    if item["category"] in rules.never_categories:
                        assert item["decision"] == "WITHHELD"
                        assert item["rule_id"] == "recipient:locality-east"
                    assert "narrative" not in item["fields"]

        await asyncio.sleep(0.5)
        log = firewall.log  # type: ignore[attr-defined]
        bodies = [e.body for e in log.entries() if e.body["correlation_id"] == rid]
        decided = [b for b in bodies if b["operation"] == "decide"]
        assert [b["rule_id"] for b in decided] == ["outcome:S47_STRATEGY", "outcome:STEP_DOWN"]
        to_east = [
            b
            for b in bodies
            if b.get("recipients") == ["locality-east"] and b["operation"] != "decide"
        ]
        assert to_east and all(b["decision"] for b in to_east)
        fed = [b for b in bodies if b.get("data_category") == "feedback"]
        assert [b["recipients"] for b in fed] == [["police"], ["police"]]
        assert step["decision_id"]


async def test_school_and_health_visitor_about_one_child_make_one_referral(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """Two agencies raise the same child within the window: one referral with two contacts;
    early help goes to the child's locality team and both referrers hear the outcome."""
    async with running_flow(kafka, topology, keys, tmp_path) as flow:
        sources = tmp_path / "sources"
        household = household_with_child(sources, ("education",), seed=11)
        raise_concern(sources, "education", household, reference="SC-77")
        raise_concern(sources, "health", household, reference="HV-78")
        ids = {referral_id_for("EDUCATION", "SC-77"), referral_id_for("HEALTH", "HV-78")}

        def two_contacts(rs: Records) -> bool:
            return any(len(p.get("contacts", [])) == 2 for p in rs if p["referral_id"] in ids)

        packages = await collect(flow, "mash.packages", "dutymanager", two_contacts)
        ours = [p for p in packages if p["referral_id"] in ids]
        assert len({p["referral_id"] for p in ours}) == 1, "one referral, not two"
        latest = ours[-1]
        assert {c["source_reference"] for c in latest["contacts"]} == {"SC-77", "HV-78"}
        rid = latest["referral_id"]

        await decide(flow, rid, "LOCALITY_EARLY_HELP")
        team = latest["locality"].lower()
        products = await collect(
            flow, f"mash.products.locality-{team}", f"locality-{team}", lambda rs: bool(rs)
        )
        assert products[0]["referral_id"] == rid
        assert products[0]["team"] == latest["locality"]
        for agency in ("education", "health"):
            handler = flow.services[agency].handler
            got = await eventually(lambda h=handler: h.state.received("mash.Feedback"))  # type: ignore[attr-defined]
            assert got[0]["outcome"] == "LOCALITY_EARLY_HELP"
            assert got[0]["referral_id"] == rid


async def test_decision_before_the_package_is_refused_below_level_3(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """A Level 2 referral cannot be decided before its package (quarantined with the
    reason); nothing is disseminated and the referrer hears nothing."""
    async with running_flow(kafka, topology, keys, tmp_path, only=("firewall", "collator")) as flow:
        sources = tmp_path / "sources"
        household = household_with_child(sources, ("education",), seed=5)
        raised = raise_concern(sources, "police", household, reference="PPN-EARLY")
        referral = referral_from_concern("police", raised)
        await raise_as(flow, "police", referral)
        firewall = flow.services["firewall"].handler
        await eventually(lambda: firewall.state.referral(referral["referral_id"]))  # type: ignore[attr-defined]
        await decide(flow, referral["referral_id"], "S17_ASSESSMENT")
        quarantined = await collect(
            flow, "mash.quarantine", "auditor", lambda rs: _has(rs, "service", "firewall")
        )
        reason = next(q for q in quarantined if q["service"] == "firewall")
        assert "Level 3 only" in reason["detail"]
        state = firewall.state.referral(referral["referral_id"])[1]  # type: ignore[attr-defined]
        assert state["decisions"] == []

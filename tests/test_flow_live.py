"""The whole flow over the real broker: referral in, proportionate package out, every decision
in a verifiable disclosure log."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from hub.disclosure_log import DisclosureLog, verify_log
from hub.sources.generate import referral_for_household
from hub.topology import Topology
from hub.witness import witnessed_notes
from tests.brokers import KafkaCluster
from tests.flow import running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


def _items(package: dict, agency: str) -> list[dict]:
    return [
        i
        for f in package["findings"]
        if f["agency"] == agency
        for s in f["subjects"]
        for i in s["items"]
    ]


async def test_level1_and_level3_about_one_household_disclose_differently(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path
) -> None:
    """Same household, two levels: Level 3 notifies at once and releases more; Level 1 never
    carries police intelligence narrative; every withheld item is logged with its rule."""
    async with running_flow(kafka, topology, keys, tmp_path) as flow:
        level3 = referral_for_household(tmp_path / "sources", "LEVEL_3", seed=11, known_to="police")
        level1 = copy.deepcopy(level3)
        level1.update(
            {
                "referral_id": level3["referral_id"][:-4] + "0001",
                "level": "LEVEL_1",
                "need": "LOW_RISK_TO_VULNERABLE",
                "rag": "GREEN",
                "locality": "CENTRAL",
                "consent": {"status": "GIVEN", "not_sought_reason": None, "recorded_at": None},
            }
        )
        await flow.refer(level3, level1)
        notices = await flow.read("mash.notifications", "police", 1)
        assert notices[0]["referral_id"] == level3["referral_id"]
        packages = {
            p["referral_id"]: p
            for p in await flow.read("mash.packages", "dutymanager", 2, wait_s=90)
        }
    p3, p1 = packages[level3["referral_id"]], packages[level1["referral_id"]]
    assert p3["level"] == "LEVEL_3" and p1["level"] == "LEVEL_1"
    assert {a["answer"] for a in p3["agencies"]} == {"ANSWERED"}
    assert p3["deadline_met"] and p1["deadline_met"]
    released3 = sum(
        i["decision"] == "RELEASED"
        for i in [i for a in ("POLICE", "HEALTH", "EDUCATION", "HOUSING") for i in _items(p3, a)]
    )
    released1 = sum(
        i["decision"] == "RELEASED"
        for i in [i for a in ("POLICE", "HEALTH", "EDUCATION", "HOUSING") for i in _items(p1, a)]
    )
    assert released3 > released1
    for item in _items(p1, "POLICE"):
        assert item["category"] != "police.intelligence" or item["decision"] == "WITHHELD"
        assert "narrative" not in item["fields"]
    for item in _items(p1, "HEALTH"):
        assert "diagnosis" not in item["fields"]

    log = DisclosureLog(tmp_path / "state" / f"{topology.namespace}.firewall" / "disclosure-log.db")
    try:
        entries = [e.body for e in log.entries()]
        withheld = [e for e in entries if e["operation"] == "withhold"]
        assert withheld and all(
            e["rule_id"] and e["policy_version"].startswith("sha256:") for e in withheld
        )
        logged = {
            (e["correlation_id"], e["data_category"], e["decision"])
            for e in entries
            if e.get("decision") and e.get("data_category") != "notification"
        }
        for package in (p3, p1):
            for finding in package["findings"]:
                for subject in finding["subjects"]:
                    for item in subject["items"]:
                        assert (
                            package["referral_id"],
                            item["category"],
                            item["decision"],
                        ) in logged
        names = {s["family_name"] for s in level3["subjects"]}
        assert not any(name in e.raw.decode() for e in log.entries() for name in names)
        report = verify_log(log, [keys.ring("firewall").signing_key.public_key()])
        assert report.ok, report.problems
    finally:
        log.close()


async def test_whole_flow_with_the_log_on_postgresql(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path, postgres_url: str
) -> None:
    """The production log store: a Level 2 referral's decisions land in PostgreSQL, verifiable."""
    import psycopg

    database = "flow_" + topology.namespace.replace("-", "_")
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {database}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + database
    async with running_flow(kafka, topology, keys, tmp_path, log_url=url) as flow:
        referral = referral_for_household(
            tmp_path / "sources", "LEVEL_2", seed=12, known_to="police"
        )
        await flow.refer(referral)
        await flow.read("mash.packages", "dutymanager", 1)
    log = DisclosureLog(url)
    try:
        decisions = [e.body for e in log.entries() if e.body.get("decision")]
        assert decisions, f"{log.size()} entries, none a decision"
        assert {e["correlation_id"] for e in decisions} == {referral["referral_id"]}
        report = verify_log(log, [keys.ring("firewall").signing_key.public_key()])
        assert report.ok and report.checkpoints >= 1, report.problems
        # Witnessed outside the database: the checkpoints the firewall published on mash.audit,
        # as `mash audit verify --from-kafka` reads them, match the log's.
        notes = await witnessed_notes(
            kafka.settings("auditor"), keys.ring("auditor"), topology.topic("mash.audit")
        )
        assert notes
        witnessed = verify_log(log, [keys.ring("firewall").signing_key.public_key()], notes)
        assert witnessed.ok, witnessed.problems
    finally:
        log.close()

"""A database outage mid-run (PostgreSQL restarting, a SQLite file locked by another process)
is the store's fault, not the messages': the services wait it out and redo the unfinished
work, so every referral still gets exactly one package, nothing is quarantined, nothing
crashes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

import hub.sqlite
from hub.topology import Topology
from tests.brokers import KafkaCluster
from tests.flow import (
    Flow,
    assert_log_accounts_for,
    assert_one_package_each,
    packages_for,
    running_flow,
)
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


def _rejected(flow: Flow) -> dict[str, float]:
    """Messages each service rejected (quarantined), by service."""
    out = {}
    for name, built in flow.services.items():
        total = 0.0
        for metric in built.runner.metrics.registry.collect():
            if metric.name == "mash_errors":
                total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
        out[name] = total
    return out


async def test_services_wait_out_a_postgresql_outage(
    kafka: KafkaCluster, topology: Topology, keys: TestKeys, tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL refuses connections for a few seconds and drops every open one, while
    referrals flow: the services reconnect and carry on; one package each, none rejected."""
    import psycopg

    from hub.sources.generate import referral_for_household

    database = "outage_" + topology.namespace.replace("-", "_")
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {database}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + database
    async with running_flow(kafka, topology, keys, tmp_path, log_url=url, state_url=url) as flow:
        referrals = [
            referral_for_household(tmp_path / "sources", level, seed=i)
            for i, level in enumerate(["LEVEL_2", "LEVEL_3", "LEVEL_1"] * 6)
        ]
        await flow.refer(*referrals[:6])
        await asyncio.sleep(1)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )
            await flow.refer(*referrals[6:12])
            await asyncio.sleep(4)
            admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        await flow.refer(*referrals[12:])
        want = {r["referral_id"] for r in referrals}
        packages, _dropped = await packages_for(flow, want)
        running = {t.get_name() for t in flow.tasks if not t.done()}
        assert running == set(flow.services), "a service stopped"
        assert set(_rejected(flow).values()) == {0.0}, _rejected(flow)
    assert_one_package_each(packages, want)
    assert_log_accounts_for(url, keys, want)  # one chain across the outage


async def test_services_wait_out_a_locked_sqlite_state(
    kafka: KafkaCluster,
    topology: Topology,
    keys: TestKeys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process holds the firewall's state database locked for seconds while referrals
    arrive: the firewall waits, then handles them; one package each, none rejected."""
    from hub.sources.generate import referral_for_household

    monkeypatch.setattr(hub.sqlite, "BUSY_TIMEOUT_S", 0.5)
    async with running_flow(kafka, topology, keys, tmp_path) as flow:
        referrals = [
            referral_for_household(tmp_path / "sources", level, seed=i)
            for i, level in enumerate(["LEVEL_2", "LEVEL_3", "LEVEL_1"] * 4)
        ]
        await flow.refer(*referrals[:6])
        await asyncio.sleep(1)
        path = flow.settings["firewall"].state_store("firewall", "referrals.db")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            await flow.refer(*referrals[6:])
            await asyncio.sleep(4)
            runner = flow.services["firewall"].runner
            ready, why = runner._ready()
            assert not ready and f"state {path.parent.name}/referrals.db unavailable" in why
            assert runner.metrics.registry.get_sample_value("mash_store_unavailable") == 1
        finally:
            other.execute("ROLLBACK")
            other.close()
        want = {r["referral_id"] for r in referrals}
        packages, _dropped = await packages_for(flow, want)
        running = {t.get_name() for t in flow.tasks if not t.done()}
        assert running == set(flow.services), "a service stopped"
        assert set(_rejected(flow).values()) == {0.0}, _rejected(flow)
        assert flow.services["firewall"].runner._ready() == (True, "ok")
        assert runner.metrics.registry.get_sample_value("mash_store_unavailable") == 0
    assert_one_package_each(packages, want)

"""Keys rotated and revoked while every service runs on the real broker: the services take the
new keys in without a restart, referrals keep being packaged, and nothing is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.sources.generate import referral_for_household
from hub.topology import Topology
from tests.brokers import KafkaCluster
from tests.flow import Flow, assert_one_package_each, packages_for, running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


def _refused(flow: Flow) -> float:
    """Messages any service rejected (quarantined) so far."""
    total = 0.0
    for built in flow.services.values():
        for family in built.runner.metrics.registry.collect():
            total += sum(s.value for s in family.samples if s.name == "mash_errors_total")
    return total


async def test_rotation_and_revocation_while_running(
    kafka: KafkaCluster, topology: Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Police and the firewall rotate mid-run, then police's old signing key is revoked: each
    service signs with its new key, every referral before and after is packaged once, and no
    message is refused."""
    monkeypatch.setenv("MASH_KEYS_REFRESH_S", "0.5")
    keys = TestKeys(tmp_path / "keys")  # this test's own: the session's keys stay as they are
    async with running_flow(kafka, topology, keys, tmp_path) as flow:
        sources = tmp_path / "sources"
        referrals = [referral_for_household(sources, "LEVEL_3", seed=i) for i in range(3)]
        firewall, police = flow.services["firewall"], flow.services["police"]
        old = {"firewall": firewall.runner.ring.signing_key_id}
        old["police"] = police.runner.ring.signing_key_id
        await flow.refer(referrals[0])
        await packages_for(flow, {referrals[0]["referral_id"]})

        keys.store.rotate("police")
        keys.store.rotate("firewall")
        await flow.refer(referrals[1])
        await packages_for(flow, {referrals[1]["referral_id"]})
        assert firewall.runner.ring.signing_key_id != old["firewall"]
        assert police.runner.ring.signing_key_id != old["police"]

        keys.store.revoke(old["police"], "rotated out early: laptop lost")
        await flow.refer(referrals[2])
        every, _ = await packages_for(flow, {r["referral_id"] for r in referrals})
        assert _refused(flow) == 0
    assert_one_package_each(every, {r["referral_id"] for r in referrals})

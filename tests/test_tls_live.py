"""Over the broker's TLS listener (SASL_SSL): provisioning and the whole flow work with every
service connecting over TLS, and a client that does not trust the broker's authority, or does
not speak TLS, is refused before any data moves."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError

from hub.broker.tls import ensure_broker_tls
from hub.settings import KafkaSettings
from hub.sources.generate import referral_for_household
from hub.topology import Topology
from hub.transport.kafka import KafkaPublisher
from tests.brokers import KafkaCluster, fresh_namespace
from tests.flow import running_flow
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


def _over_tls(kafka: KafkaCluster) -> KafkaCluster:
    try:
        return kafka.with_tls()
    except LookupError as exc:  # only an external cluster named without a TLS endpoint
        pytest.skip(str(exc))


async def test_the_whole_flow_runs_with_every_service_over_tls(
    kafka: KafkaCluster, keys: TestKeys, tmp_path: Path
) -> None:
    """Topics, users and ACLs provisioned over TLS; a Level 3 referral published over TLS is
    notified and packaged by services that all connect over TLS."""
    secure = _over_tls(kafka)
    topology = Topology.load(namespace=fresh_namespace("tls-flow"))
    secure.provision(topology)
    for principal in ("admin", "firewall", "collator", "police", "dutymanager"):
        assert secure.settings(principal).security_protocol == "SASL_SSL"
    async with running_flow(secure, topology, keys, tmp_path) as flow:
        referral = referral_for_household(tmp_path / "sources", "LEVEL_3", seed=21)
        await flow.refer(referral)
        [notice] = await flow.read("mash.notifications", "police", 1)
        [package] = await flow.read("mash.packages", "dutymanager", 1, wait_s=90)
    assert notice["referral_id"] == package["referral_id"] == referral["referral_id"]
    assert package["level"] == "LEVEL_3"


async def _connects(settings: KafkaSettings) -> bool:
    """Whether a producer with these settings connects and authenticates."""
    publisher = KafkaPublisher(settings, request_timeout_ms=5000)
    try:
        async with asyncio.timeout(60):
            await publisher.start()
    except KafkaConnectionError:
        return False
    finally:
        await publisher.stop()
    return True


async def test_a_client_that_does_not_trust_the_broker_authority_is_refused(
    kafka: KafkaCluster, topology: Topology, tmp_path: Path
) -> None:
    """Another authority's certificate (same names, other key) does not pass: the handshake
    fails, so credentials are never offered to an impostor; trusting the broker's own, the
    same principal connects."""
    secure = _over_tls(kafka)
    police = secure.settings("police")
    stranger = ensure_broker_tls(tmp_path / "other-ca", "127.0.0.1")
    assert isinstance(police.aiokafka_kwargs()["ssl_context"], ssl.SSLContext)
    assert await _connects(police)
    assert not await _connects(police.model_copy(update={"ssl_cafile": stranger.ca_file}))


async def test_the_tls_port_refuses_a_client_without_tls(
    kafka: KafkaCluster, topology: Topology
) -> None:
    """SASL without TLS on the TLS port never authenticates (the listener speaks TLS only);
    the same credentials work on the plain port."""
    secure = _over_tls(kafka)
    police = secure.settings("police")
    assert police.password is not None
    plain_on_tls_port = KafkaSettings(
        bootstrap_servers=police.bootstrap_servers, username="police", password=police.password
    )
    assert await _connects(kafka.settings("police"))
    assert not await _connects(plain_on_tls_port)

"""Shared fixtures: one real secured Kafka broker per test session, fresh namespaces per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.topology import Topology
from tests.brokers import KafkaCluster, cluster_from_env, fresh_namespace
from tests.keyring import TestKeys
from tests.postgres import postgres_server


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """A running, secured broker for the whole session; failing to start fails the run."""
    yield from cluster_from_env(tmp_path_factory.mktemp("broker-home"))


@pytest.fixture
def topology(kafka: KafkaCluster, request: pytest.FixtureRequest) -> Topology:
    """The default topology provisioned under a namespace of this test's own."""
    topo = Topology.load(namespace=fresh_namespace(request.node.name))
    kafka.provision(topo)
    return topo


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> TestKeys:
    """Keys for every topology principal (created once per session)."""
    return TestKeys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the session (the log's production store)."""
    with postgres_server() as url:
        yield url

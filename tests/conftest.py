"""Shared fixtures: one real secured Kafka broker per test session, fresh namespaces per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.statedb import PostgresState, StateWhere, schema_for
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


Where = Callable[[str], StateWhere]


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    """Where a test's state stores live, by name: files in its folder, or schemas of its own
    in the session's PostgreSQL (the same name gives the same store)."""
    if request.param == "sqlite":
        return lambda name: tmp_path / name
    url = request.getfixturevalue("postgres_url")
    prefix = f"t{uuid.uuid4().hex[:12]}"
    return lambda name: PostgresState(url, schema_for(f"{prefix}_{name}"))

"""The project's own broker: clear errors for the usual failures, state that survives restarts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hub.broker import LocalBroker
from hub.broker.errors import ClusterMismatch, PortInUse, ToolMissing
from hub.broker.fetch import fetch_kafka
from hub.provision import ClusterAdmin, plan, provision
from hub.topology import Topology

pytestmark = pytest.mark.broker


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    """Another process on the client port gives PortInUse naming the port, not a JVM trace."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} "):
            LocalBroker(tmp_path, client_port=port, controller_port=0).start(timeout=30)


def test_data_folder_of_another_cluster_is_refused(tmp_path: Path) -> None:
    """A data folder formatted for a different cluster id is never reused silently."""
    data = tmp_path / "broker" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("cluster.id=SomeoneElsesCluster\nnode.id=1\n")
    with pytest.raises(ClusterMismatch, match="belongs to another Kafka cluster"):
        LocalBroker(tmp_path, client_port=0, controller_port=0).start(timeout=30)


def test_missing_java_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Java on PATH the error says what to install."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="Java is not installed"):
        LocalBroker(tmp_path, client_port=0, controller_port=0).start(timeout=30)


def test_missing_maven_is_reported_when_jars_are_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first fetch needs Maven; its absence is a clear ToolMissing."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="Maven"):
        fetch_kafka(cache=tmp_path / "empty-cache")


def test_fetch_is_a_no_op_once_cached() -> None:
    """The second fetch returns the cached folder without running Maven."""
    first = fetch_kafka()
    assert (first / ".complete").is_file()
    assert any(first.glob("kafka_2.13-*.jar"))
    assert fetch_kafka() == first


def test_restart_keeps_users_topics_and_acls(tmp_path: Path) -> None:
    """Stop and start again: same cluster, provisioning has nothing left to do; the TLS
    listener keeps its port and authority, so clients on other hosts keep trusting it."""
    broker = LocalBroker(tmp_path, client_port=0, controller_port=0)
    topology = Topology.load(namespace="restart")
    try:
        status = broker.start(timeout=120)
        assert status.ready and status.pid is not None and status.rss_mib
        assert status.tls_bootstrap is not None
        authority = broker.tls.ca_file.read_bytes()
        assert not provision(topology, ClusterAdmin(broker.admin_settings()), str.upper).empty
        assert broker.stop() is True
        assert broker.status().running is False
        again = LocalBroker(tmp_path)
        restarted = again.start(timeout=120)
        assert restarted.ready and restarted.topics == len(topology.topics)
        assert restarted.tls_bootstrap == status.tls_bootstrap
        assert again.tls.ca_file.read_bytes() == authority
        admin = ClusterAdmin(again.tls_settings(again.admin_settings()))  # over TLS
        assert plan(topology, admin.state(topology)).empty
        assert again.stop() is True
    finally:
        broker.stop()
        LocalBroker(tmp_path).stop()

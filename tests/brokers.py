"""Where the tests' secured Kafka broker comes from: the project's JVM broker (default), a
testcontainers Kafka when a Docker engine is chosen, or an external cluster named by env.

MASH_TEST_BROKER=local|testcontainers|external. For external: MASH_TEST_BOOTSTRAP,
MASH_TEST_ADMIN_USER, MASH_TEST_ADMIN_PASSWORD (SASL_PLAINTEXT, SCRAM-SHA-512, a super user),
and for the tests over TLS MASH_TEST_TLS_BOOTSTRAP with MASH_TEST_TLS_CAFILE (SASL_SSL).
A broker that cannot be had raises: the run fails, it never skips.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from hub.broker.config import BrokerConfig, render_server_properties
from hub.broker.process import LocalBroker, free_port
from hub.provision import ClusterAdmin, Plan, provision
from hub.secrets import SecretStore
from hub.settings import KafkaSettings
from hub.topology import Topology


@dataclass
class KafkaCluster:
    """A running secured cluster plus the passwords of the principals the tests provisioned."""

    kind: str
    admin: KafkaSettings
    secrets: SecretStore
    data_dir: Path | None = None
    provisioned: set[str] = field(default_factory=set)
    tls: tuple[str, Path] | None = None  # the SASL_SSL endpoint and the CA it is signed by
    over_tls: bool = False  # settings() for the SASL_SSL endpoint

    def with_tls(self) -> KafkaCluster:
        """The same cluster, every principal's settings for its TLS listener (SASL_SSL,
        trusting its certificate authority); LookupError if it offers none."""
        if self.tls is None:
            raise LookupError(f"the {self.kind} cluster names no TLS endpoint")
        return dataclasses.replace(self, over_tls=True)

    @property
    def bootstrap(self) -> str:
        """host:port of the SASL listener."""
        return self.admin.bootstrap_servers

    def password(self, principal: str) -> str:
        """A principal's SCRAM password (generated on first use)."""
        return self.secrets.get_or_create(f"kafka-{principal}").get_secret_value()

    def settings(self, principal: str, password: str | None = None) -> KafkaSettings:
        """Client settings for ``principal`` (optionally with a wrong password)."""
        plain = (
            self.admin
            if principal == "admin"
            else KafkaSettings(
                bootstrap_servers=self.bootstrap,
                username=principal,
                password=SecretStr(password or self.password(principal)),
            )
        )
        if not self.over_tls:
            return plain
        assert self.tls is not None
        endpoint, cafile = self.tls
        return KafkaSettings(
            bootstrap_servers=endpoint,
            security_protocol="SASL_SSL",
            username=plain.username,
            password=plain.password,
            ssl_cafile=cafile,
        )

    def provision(self, topology: Topology) -> Plan:
        """Create the topology's users, topics and ACLs (and wait until they are in force)."""
        change = provision(topology, ClusterAdmin(self.settings("admin")), self.password)
        self.provisioned.add(topology.namespace)
        return change


def fresh_namespace(label: str) -> str:
    """A namespace nobody used before, so a test gets its own topics and groups."""
    clean = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")[:24]
    return f"t{secrets.token_hex(3)}-{clean}"


@contextmanager
def local_cluster(home: Path) -> Iterator[KafkaCluster]:
    """The project's own broker, on free ports, in a throw-away run folder."""
    broker = LocalBroker(home, client_port=0, controller_port=0)
    broker.start(timeout=120)
    tls = broker.tls_settings(broker.admin_settings())
    assert tls.ssl_cafile is not None
    try:
        yield KafkaCluster(
            "local",
            broker.admin_settings(),
            SecretStore(home / "secrets"),
            data_dir=broker.data_dir,
            tls=(tls.bootstrap_servers, tls.ssl_cafile),
        )
    finally:
        broker.stop()


@contextmanager
def external_cluster(home: Path) -> Iterator[KafkaCluster]:
    """A cluster someone else runs, named by environment."""
    try:
        admin = KafkaSettings(
            bootstrap_servers=os.environ["MASH_TEST_BOOTSTRAP"],
            username=os.environ["MASH_TEST_ADMIN_USER"],
            password=SecretStr(os.environ["MASH_TEST_ADMIN_PASSWORD"]),
        )
    except KeyError as exc:
        raise RuntimeError(f"MASH_TEST_BROKER=external needs {exc.args[0]} to be set") from exc
    endpoint, cafile = (
        os.environ.get("MASH_TEST_TLS_BOOTSTRAP"),
        os.environ.get("MASH_TEST_TLS_CAFILE"),
    )
    tls = (endpoint, Path(cafile)) if endpoint and cafile else None
    yield KafkaCluster("external", admin, SecretStore(home / "secrets"), tls=tls)


@contextmanager
def container_cluster(home: Path) -> Iterator[KafkaCluster]:
    """Apache Kafka's official image under testcontainers, with the same secured config."""
    from testcontainers.core.container import DockerContainer

    port, controller = free_port(), free_port()
    store = SecretStore(home / "secrets")
    admin_pw = store.get_or_create("kafka-admin").get_secret_value()
    cfg = BrokerConfig(
        data_dir=Path("/tmp/kraft"),
        client_port=port,
        controller_port=controller,
        admin_password=admin_pw,
        controller_password=store.get_or_create("kafka-controller").get_secret_value(),
        host="0.0.0.0",
    )
    props = (
        render_server_properties(cfg)
        .replace(
            f"advertised.listeners=CLIENT://0.0.0.0:{port}",
            f"advertised.listeners=CLIENT://127.0.0.1:{port}",
        )
        .replace(
            f"controller.quorum.bootstrap.servers=0.0.0.0:{controller}",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
        )
    )
    (home / "server.properties").write_text(props)
    script = (
        "/opt/kafka/bin/kafka-storage.sh format --standalone -t $(/opt/kafka/bin/"
        "kafka-storage.sh random-uuid) -c /mash/server.properties --add-scram "
        f"'SCRAM-SHA-512=[name=admin,password={admin_pw}]' && "
        "exec /opt/kafka/bin/kafka-server-start.sh /mash/server.properties"
    )
    container = (
        DockerContainer("apache/kafka:4.1.1")
        .with_bind_ports(port, port)
        .with_bind_ports(controller, controller)
        .with_volume_mapping(str(home), "/mash", "ro")
        .with_command(["bash", "-c", script])
    )
    container.start()
    try:
        admin = KafkaSettings(
            bootstrap_servers=f"127.0.0.1:{port}", username="admin", password=SecretStr(admin_pw)
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                ClusterAdmin(admin, timeout=3).state(Topology.load(namespace="probe"))
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield KafkaCluster("testcontainers", admin, store)
    finally:
        container.stop()


def cluster_from_env(home: Path) -> Iterator[KafkaCluster]:
    """Pick the broker source from MASH_TEST_BROKER (default: the project's own)."""
    kind = os.environ.get("MASH_TEST_BROKER", "local")
    factories = {
        "local": local_cluster,
        "external": external_cluster,
        "testcontainers": container_cluster,
    }
    if kind not in factories:
        raise RuntimeError(f"MASH_TEST_BROKER={kind!r}: expected one of {sorted(factories)}")
    with factories[kind](home) as cluster:
        yield cluster

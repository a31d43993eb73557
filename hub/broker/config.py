"""Render server.properties for a single-node, secured KRaft broker (combined broker+controller).

Client listener: SASL/SCRAM-SHA-512, and with a keystore a second one, SASL/SCRAM over TLS
(SASL_SSL), for clients on other hosts. Controller listener: SASL/PLAIN (SCRAM on the controller
listener is unreliable, KAFKA-15513). StandardAuthorizer, deny by default, one super user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ADMIN_USER = "admin"


@dataclass(frozen=True)
class BrokerConfig:
    """Everything that varies between two local brokers."""

    data_dir: Path
    client_port: int
    controller_port: int
    admin_password: str
    controller_password: str
    host: str = "127.0.0.1"
    node_id: int = 1
    tls_port: int | None = None  # the SASL_SSL listener, with tls_keystore
    tls_keystore: Path | None = None  # PEM: PKCS#8 key and certificate chain

    def __post_init__(self) -> None:
        if (self.tls_port is None) != (self.tls_keystore is None):
            raise ValueError("a TLS listener needs both tls_port and tls_keystore")

    @property
    def bootstrap(self) -> str:
        """The SASL client endpoint, host:port."""
        return f"{self.host}:{self.client_port}"

    @property
    def tls_bootstrap(self) -> str | None:
        """The SASL_SSL client endpoint, host:port (None without a TLS listener)."""
        return None if self.tls_port is None else f"{self.host}:{self.tls_port}"


def _jaas(module: str, user: str, password: str, extra: str = "") -> str:
    return f'{module} required username="{user}" password="{password}"{extra};'


def render_server_properties(cfg: BrokerConfig) -> str:
    """The broker's server.properties text."""
    for secret in (cfg.admin_password, cfg.controller_password):
        if any(c in secret for c in ',"\\\n'):
            raise ValueError("broker passwords must not contain commas, quotes or backslashes")
    scram = _jaas(
        "org.apache.kafka.common.security.scram.ScramLoginModule", ADMIN_USER, cfg.admin_password
    )
    plain = _jaas(
        "org.apache.kafka.common.security.plain.PlainLoginModule",
        ADMIN_USER,
        cfg.controller_password,
        f' user_{ADMIN_USER}="{cfg.controller_password}"',
    )
    listeners = [f"CLIENT://{cfg.bootstrap}", f"CONTROLLER://{cfg.host}:{cfg.controller_port}"]
    advertised = [f"CLIENT://{cfg.bootstrap}"]
    protocols = ["CLIENT:SASL_PLAINTEXT", "CONTROLLER:SASL_PLAINTEXT"]
    tls: dict[str, str] = {}
    if cfg.tls_bootstrap is not None:
        listeners.append(f"SECURE://{cfg.tls_bootstrap}")
        advertised.append(f"SECURE://{cfg.tls_bootstrap}")
        protocols.append("SECURE:SASL_SSL")
        tls = {
            "listener.name.secure.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.secure.scram-sha-512.sasl.jaas.config": scram,
            "listener.name.secure.ssl.keystore.type": "PEM",
            "listener.name.secure.ssl.keystore.location": str(cfg.tls_keystore),
            "listener.name.secure.ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
            "listener.name.secure.ssl.client.auth": "none",
        }
    props = {
        "process.roles": "broker,controller",
        "node.id": str(cfg.node_id),
        "controller.quorum.bootstrap.servers": f"{cfg.host}:{cfg.controller_port}",
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised),
        "listener.security.protocol.map": ",".join(protocols),
        "inter.broker.listener.name": "CLIENT",
        "controller.listener.names": "CONTROLLER",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.client.scram-sha-512.sasl.jaas.config": scram,
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
        **tls,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN_USER}",
        "allow.everyone.if.no.acl.found": "false",
        "auto.create.topics.enable": "false",
        "log.dirs": str(cfg.data_dir),
        "num.partitions": "3",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "6",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "2097152",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.flush.interval.messages": "9223372036854775807",
    }
    header = "# Generated by `mash broker start`; edits are overwritten.\n"
    return header + "".join(f"{k}={v}\n" for k, v in props.items())

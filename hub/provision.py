"""Make a cluster match the topology: SCRAM users, topics, partitions, configs and ACLs.

``plan`` is a pure function from (desired topology, observed cluster) to a list of changes, so
running provisioning twice changes nothing and a topology edit applies only the difference.
``ClusterAdmin`` is the thin I/O layer over confluent-kafka's AdminClient (aiokafka has no
public API for ACLs or SCRAM users).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from hub.settings import KafkaSettings
from hub.topology import AclSpec, Operation, PatternKind, ResourceKind, Topic, Topology

SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class TopicState:
    """What the cluster says about one topic."""

    partitions: int
    config: dict[str, str]


@dataclass(frozen=True)
class ClusterState:
    """The parts of a cluster the topology manages."""

    users: frozenset[str]
    topics: dict[str, TopicState]
    acls: frozenset[AclSpec]


@dataclass
class Plan:
    """Changes that bring a cluster in line with the topology (empty when it already is)."""

    create_users: list[str] = field(default_factory=list)
    create_topics: list[Topic] = field(default_factory=list)
    add_partitions: dict[str, int] = field(default_factory=dict)
    alter_configs: dict[str, dict[str, str]] = field(default_factory=dict)
    create_acls: list[AclSpec] = field(default_factory=list)
    delete_acls: list[AclSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when nothing needs to change."""
        return not (
            self.create_users
            or self.create_topics
            or self.add_partitions
            or self.alter_configs
            or self.create_acls
            or self.delete_acls
        )

    def describe(self) -> list[str]:
        """One human-readable line per change."""
        lines = [f"create user {u}" for u in self.create_users]
        lines += [f"create topic {t.name} ({t.partitions} partitions)" for t in self.create_topics]
        lines += [f"grow topic {n} to {p} partitions" for n, p in self.add_partitions.items()]
        lines += [f"set {n} {k}={v}" for n, c in self.alter_configs.items() for k, v in c.items()]
        lines += [
            f"allow {a.principal} {a.operation} {a.resource}:{a.pattern}:{a.name}"
            for a in self.create_acls
        ]
        lines += [
            f"revoke {a.principal} {a.operation} {a.resource}:{a.pattern}:{a.name}"
            for a in self.delete_acls
        ]
        return lines + [f"warning: {w}" for w in self.warnings]


def _owned(topology: Topology, acl: AclSpec) -> bool:
    """ACLs on resources inside this topology's namespace are managed (and pruned) by it."""
    return acl.name.startswith(topology.prefix + "mash.")


def plan(topology: Topology, state: ClusterState) -> Plan:
    """The changes needed; never deletes topics or users, only ACLs the topology owns."""
    result = Plan()
    result.create_users = [p for p in topology.service_principals() if p not in state.users]
    for topic in topology.topics:
        current = state.topics.get(topic.name)
        if current is None:
            result.create_topics.append(topic)
            continue
        if topic.partitions > current.partitions:
            result.add_partitions[topic.name] = topic.partitions
        elif topic.partitions < current.partitions:
            result.warnings.append(
                f"{topic.name} has {current.partitions} partitions, more than "
                f"the {topic.partitions} declared; Kafka cannot shrink a topic"
            )
        changed = {k: v for k, v in topic.config.items() if current.config.get(k) != v}
        if changed:
            result.alter_configs[topic.name] = changed
    desired = topology.acls()
    result.create_acls = sorted(desired - state.acls)
    result.delete_acls = sorted(a for a in state.acls - desired if _owned(topology, a))
    return result


_RESOURCE: dict[ResourceKind, Any] = {
    "TOPIC": ResourceType.TOPIC,
    "GROUP": ResourceType.GROUP,
    "TRANSACTIONAL_ID": ResourceType.TRANSACTIONAL_ID,
}
_PATTERN: dict[PatternKind, Any] = {
    "LITERAL": ResourcePatternType.LITERAL,
    "PREFIXED": ResourcePatternType.PREFIXED,
}
_OPERATION: dict[Operation, Any] = {
    "READ": AclOperation.READ,
    "WRITE": AclOperation.WRITE,
    "DESCRIBE": AclOperation.DESCRIBE,
}


def _binding(acl: AclSpec) -> AclBinding:
    return AclBinding(
        _RESOURCE[acl.resource],
        acl.name,
        _PATTERN[acl.pattern],
        acl.principal,
        acl.host,
        _OPERATION[acl.operation],
        AclPermissionType.ALLOW,
    )


def _spec(binding: AclBinding) -> AclSpec | None:
    names = {v: k for k, v in _RESOURCE.items()}
    ops = {v: k for k, v in _OPERATION.items()}
    patterns = {v: k for k, v in _PATTERN.items()}
    if (
        binding.restype not in names
        or binding.operation not in ops
        or binding.resource_pattern_type not in patterns
        or binding.permission_type != AclPermissionType.ALLOW
    ):
        return None
    return AclSpec(
        binding.principal,
        names[binding.restype],
        binding.name,
        patterns[binding.resource_pattern_type],
        ops[binding.operation],
        binding.host,
    )


class ClusterAdmin:
    """Reads and changes a cluster's users, topics and ACLs with the super user's credentials."""

    def __init__(self, settings: KafkaSettings, timeout: float = 30.0) -> None:
        quiet = logging.getLogger("hub.provision.librdkafka")
        self._admin = AdminClient(settings.confluent_config() | {"logger": quiet})
        self._timeout = timeout

    def state(self, topology: Topology) -> ClusterState:
        """Observe the users, the topology's topics (with their configs) and all ACLs."""
        users = frozenset(self._admin.describe_user_scram_credentials().result())
        metadata = self._admin.list_topics(timeout=self._timeout)
        wanted = {t.name for t in topology.topics}
        present = [n for n in metadata.topics if n in wanted]
        topics: dict[str, TopicState] = {}
        if present:
            futures = self._admin.describe_configs(
                [ConfigResource(ResourceType.TOPIC, n) for n in present]
            )
            for resource, future in futures.items():
                entries = future.result(timeout=self._timeout)
                topics[resource.name] = TopicState(
                    partitions=len(metadata.topics[resource.name].partitions),
                    config={k: str(e.value) for k, e in entries.items()},
                )
        return ClusterState(users=users, topics=topics, acls=self._acls())

    def apply(self, change: Plan, password: Callable[[str], str]) -> None:
        """Carry out a plan; ``password(principal)`` gives each new user's SCRAM password."""
        if change.create_users:
            upserts = [
                UserScramCredentialUpsertion(
                    u,
                    ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
                    password(u).encode(),
                )
                for u in change.create_users
            ]
            for future in self._admin.alter_user_scram_credentials(upserts).values():
                future.result(timeout=self._timeout)
        if change.create_topics:
            new = [
                NewTopic(t.name, t.partitions, t.replication_factor, config=dict(t.config))
                for t in change.create_topics
            ]
            for future in self._admin.create_topics(new).values():
                future.result(timeout=self._timeout)
        if change.add_partitions:
            grow = [NewPartitions(n, p) for n, p in change.add_partitions.items()]
            for future in self._admin.create_partitions(grow).values():
                future.result(timeout=self._timeout)
        for name, config in change.alter_configs.items():
            resource = ConfigResource(
                ResourceType.TOPIC,
                name,
                incremental_configs=[
                    ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                    for k, v in config.items()
                ],
            )
            for future in self._admin.incremental_alter_configs([resource]).values():
                future.result(timeout=self._timeout)
        if change.create_acls:
            for future in self._admin.create_acls(
                [_binding(a) for a in change.create_acls]
            ).values():
                future.result(timeout=self._timeout)
        if change.delete_acls:
            filters = [
                AclBindingFilter(
                    _RESOURCE[a.resource],
                    a.name,
                    _PATTERN[a.pattern],
                    a.principal,
                    a.host,
                    _OPERATION[a.operation],
                    AclPermissionType.ALLOW,
                )
                for a in change.delete_acls
            ]
            for future in self._admin.delete_acls(filters).values():
                future.result(timeout=self._timeout)
        if change.create_acls or change.delete_acls:
            self._await_acls(set(change.create_acls), set(change.delete_acls))

    def _acls(self) -> frozenset[AclSpec]:
        any_filter = AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        bindings = self._admin.describe_acls(any_filter).result(timeout=self._timeout)
        return frozenset(s for s in map(_spec, bindings) if s is not None)

    def _await_acls(self, present: set[AclSpec], absent: set[AclSpec]) -> None:
        """ACL changes reach the authorizer asynchronously; wait until they are in force."""
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            current = self._acls()
            if present <= current and not (absent & current):
                return
            time.sleep(0.1)
        raise TimeoutError(f"ACL changes not in force after {self._timeout:.0f}s")

    def set_password(self, user: str, password: str) -> None:
        """Create or change one SCRAM user's password (credential rotation)."""
        upsert = UserScramCredentialUpsertion(
            user,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
            password.encode(),
        )
        for future in self._admin.alter_user_scram_credentials([upsert]).values():
            future.result(timeout=self._timeout)


def provision(
    topology: Topology, admin: ClusterAdmin, password: Callable[[str], str], dry_run: bool = False
) -> Plan:
    """Observe, plan and (unless dry_run) apply; returns what was (or would be) changed."""
    change = plan(topology, admin.state(topology))
    if not dry_run and not change.empty:
        admin.apply(change, password)
    return change

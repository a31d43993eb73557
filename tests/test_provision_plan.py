"""Provisioning plans are idempotent: a matching cluster needs nothing, a change only itself."""

from __future__ import annotations

from hub.provision import ClusterState, TopicState, plan
from hub.topology import AclSpec, Topology


def _matching_state(topo: Topology) -> ClusterState:
    return ClusterState(
        users=frozenset(topo.service_principals()) | {"admin"},
        topics={t.name: TopicState(t.partitions, dict(t.config)) for t in topo.topics},
        acls=frozenset(topo.acls()),
    )


def test_empty_cluster_gets_everything() -> None:
    """Users, topics and ACLs are all created on a fresh cluster."""
    topo = Topology.load()
    change = plan(topo, ClusterState(frozenset({"admin"}), {}, frozenset()))
    assert change.create_users == topo.service_principals()
    assert len(change.create_topics) == len(topo.topics)
    assert set(change.create_acls) == topo.acls()
    assert not change.delete_acls


def test_matching_cluster_needs_nothing() -> None:
    """Running provisioning twice changes nothing."""
    topo = Topology.load()
    assert plan(topo, _matching_state(topo)).empty


def test_removed_grant_is_revoked_and_nothing_else() -> None:
    """An ACL the topology no longer implies is deleted; foreign ACLs are left alone."""
    topo = Topology.load()
    stale = AclSpec("User:police", "TOPIC", "mash.packages", "LITERAL", "READ")
    foreign = AclSpec("User:other", "TOPIC", "otherapp.events", "LITERAL", "READ")
    state = _matching_state(topo)
    state = ClusterState(state.users, state.topics, state.acls | {stale, foreign})
    change = plan(topo, state)
    assert change.delete_acls == [stale]
    assert not (change.create_acls or change.create_topics or change.create_users)


def test_partition_growth_config_change_and_shrink_warning() -> None:
    """More partitions are added, changed configs set, a shrink is only warned about."""
    topo = Topology.load()
    state = _matching_state(topo)
    topics = dict(state.topics)
    topics["mash.referrals"] = TopicState(2, topics["mash.referrals"].config)
    topics["mash.audit"] = TopicState(4, {**topics["mash.audit"].config, "retention.ms": "1"})
    change = plan(topo, ClusterState(state.users, topics, state.acls))
    assert change.add_partitions == {"mash.referrals": 6}
    assert change.alter_configs == {"mash.audit": {"retention.ms": "-1"}}
    assert any("cannot shrink" in w for w in change.warnings)

"""The topology file expands per agency, validates references and implies least privilege."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.topology import AclSpec, Topology, TopologyError

MINIMAL = """
version: 1
agencies: [police]
defaults: {partitions: 2, replication_factor: 1}
principals:
  admin: {super_user: true}
  firewall: {}
  "{agency}": {}
topics:
  - name: mash.requests.{agency}
    producers: [firewall]
    consumers: ["{agency}"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    return path


def test_default_topology_has_every_topic_the_brief_names() -> None:
    """mash.referrals, per-agency requests/responses, disclosures, packages, and the rest."""
    names = {t.name for t in Topology.load().topics}
    for agency in ("police", "health", "education", "housing"):
        assert f"mash.requests.{agency}" in names
        assert f"mash.responses.{agency}" in names
    for name in (
        "mash.referrals",
        "mash.disclosures",
        "mash.packages",
        "mash.notifications",
        "mash.quarantine",
        "mash.audit",
    ):
        assert name in names


def test_agency_template_expands_to_one_principal_per_agency() -> None:
    """`{agency}` produces the four adapter principals."""
    principals = Topology.load().service_principals()
    assert {"police", "health", "education", "housing"} <= set(principals)
    assert "admin" not in principals


def test_police_acls_are_least_privilege() -> None:
    """Police reads its requests, notifications, feedback, strategy products and IG's
    corrections of them; writes its responses, its own concerns and quarantine — nothing
    else."""
    police = {a for a in Topology.load().acls() if a.principal == "User:police"}
    topics = {(a.operation, a.name) for a in police if a.resource == "TOPIC"}
    assert topics == {
        ("READ", "mash.requests.police"),
        ("WRITE", "mash.responses.police"),
        ("READ", "mash.notifications"),
        ("WRITE", "mash.quarantine"),
        ("WRITE", "mash.concerns.police"),
        ("READ", "mash.feedback.police"),
        ("READ", "mash.products.police-strategy"),
        ("READ", "mash.corrections.police"),
    }
    assert AclSpec("User:police", "GROUP", "mash.police.", "PREFIXED", "READ") in police


def test_every_policy_recipient_has_its_product_topic() -> None:
    """Each dissemination recipient in the policy reads mash.products.<name>, and only it."""
    from hub.policy.model import load_policy

    topology = Topology.load()
    for name, recipient in load_policy().recipients.items():
        topic = next(t for t in topology.topics if t.name == f"mash.products.{name}")
        assert topic.consumers == (recipient.principal,)
        assert topic.producers == ("firewall",)


def test_namespace_prefixes_topics_and_groups() -> None:
    """A namespace isolates a test (or a local authority) on a shared cluster."""
    topo = Topology.load(namespace="thurrock")
    assert topo.topic("mash.referrals") == "thurrock.mash.referrals"
    assert topo.group_prefix("firewall") == "thurrock.mash.firewall."
    assert all(a.name.startswith("thurrock.") for a in topo.acls())


def test_unknown_principal_is_named_with_file_and_topic(tmp_path: Path) -> None:
    """A typo in producers/consumers stops provisioning with a precise message."""
    path = _write(tmp_path, MINIMAL.replace("producers: [firewall]", "producers: [firewal]"))
    with pytest.raises(
        TopologyError,
        match=r"topology.yaml: topic mash.requests.police: "
        r"unknown principal 'firewal'",
    ):
        Topology.load(path)


def test_duplicate_topic_is_rejected(tmp_path: Path) -> None:
    """Two declarations of one topic would make its ACLs ambiguous."""
    text = MINIMAL + "  - name: mash.requests.police\n    producers: [firewall]\n"
    with pytest.raises(TopologyError, match="declared twice"):
        Topology.load(_write(tmp_path, text))


def test_unknown_keys_and_bad_yaml_are_rejected(tmp_path: Path) -> None:
    """Misspelt settings are errors, never silently ignored."""
    with pytest.raises(TopologyError, match="unknown top-level keys"):
        Topology.load(_write(tmp_path, MINIMAL + "topicz: []\n"))
    with pytest.raises(TopologyError, match="not valid YAML"):
        Topology.load(_write(tmp_path, "version: [1\n"))
    with pytest.raises(TopologyError, match="illegal Kafka topic name"):
        Topology.load(
            _write(tmp_path, MINIMAL.replace("mash.requests.{agency}", "mash requests {agency}"))
        )

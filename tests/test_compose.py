"""docker-compose.yml is checked structurally (no Docker engine runs here): every reference
resolves, the broker is the official image and secured, and each service runs a real command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from hub.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed compose file."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_references_resolve(compose: dict[str, Any]) -> None:
    """depends_on, secrets and named volumes all point at things the file defines."""
    services = compose["services"]
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
        for secret in svc.get("secrets", []):
            assert secret in compose["secrets"], f"{name} uses undefined secret {secret}"
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                generated = {"./secrets", "./keys", "./sources"}  # made by mash at deployment
                assert (ROOT / source).exists() or source in generated, f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undefined volume {source}"


def test_broker_is_official_kraft_image_with_sasl(compose: dict[str, Any]) -> None:
    """The production broker is Apache Kafka's image with SCRAM, ACLs and deny by default."""
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    script = (ROOT / "deploy/kafka/entrypoint.sh").read_text()
    for line in (
        "process.roles=broker,controller",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "allow.everyone.if.no.acl.found=false",
        "StandardAuthorizer",
        "--add-scram",
    ):
        assert line in script
    assert "postgres" in compose["services"]


def test_every_mash_service_runs_an_existing_cli_command(compose: dict[str, Any]) -> None:
    """Each service built from the project invokes a `mash` command that really exists."""
    built = {n: s for n, s in compose["services"].items() if s.get("build")}
    assert {
        "provision",
        "firewall",
        "collator",
        "adapter-police",
        "adapter-health",
        "adapter-education",
        "adapter-housing",
    } <= set(built)
    for name, svc in built.items():
        words = list(svc["command"])
        group: click.Command = cli
        while words and isinstance(group, click.Group) and words[0] in group.commands:
            group = group.commands[words.pop(0)]
        assert group is not cli and not isinstance(group, click.Group), (
            f"service {name}: `mash {' '.join(svc['command'])}` is not a command"
        )
        env = svc["environment"]
        assert env["MASH_KAFKA_SECURITY_PROTOCOL"].startswith("SASL_")


def test_dockerfile_copies_what_exists() -> None:
    """The image build only copies paths present in the repository."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_database_urls_carry_no_password_and_the_secret_is_mounted(
    compose: dict[str, Any],
) -> None:
    """A service given a PostgreSQL URL reads the password from the mounted secret that
    MASH_DB_PASSWORD_FILE names; no URL in the file carries one."""
    using = 0
    for name, svc in compose["services"].items():
        env = svc.get("environment", {})
        urls = [v for k, v in env.items() if k in ("MASH_LOG_URL", "MASH_STATE_URL")]
        if not urls:
            continue
        using += 1
        assert all(":" not in url.split("://", 1)[1].split("@")[0] for url in urls), name
        secret = env.get("MASH_DB_PASSWORD_FILE", "")
        assert secret.startswith("/run/secrets/"), f"{name} has no database password file"
        assert secret.removeprefix("/run/secrets/") in svc.get("secrets", []), name
    assert using > 0, "nothing uses PostgreSQL: the check would pass vacuously"


def test_every_service_reaches_the_broker_over_tls_trusting_a_mounted_authority(
    compose: dict[str, Any],
) -> None:
    """Each built service connects with SASL_SSL to the broker's TLS listener, and the CA file
    it names is a secret mounted into it; the broker serves that listener with the keystore
    secret `mash broker tls` makes."""
    script = (ROOT / "deploy/kafka/entrypoint.sh").read_text()
    assert "SECURE://kafka:9094" in script and "SECURE:SASL_SSL" in script
    assert "ssl.keystore.location=/run/secrets/kafka_tls_keystore" in script
    assert "kafka_tls_keystore" in compose["services"]["kafka"]["secrets"]
    built = {n: s for n, s in compose["services"].items() if s.get("build")}
    for name, svc in built.items():
        env = svc["environment"]
        assert env["MASH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert env["MASH_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9094", name
        cafile = env["MASH_KAFKA_SSL_CAFILE"]
        assert cafile.removeprefix("/run/secrets/") in svc["secrets"], name
    assert compose["secrets"]["kafka_ca"]["file"] == "./secrets/kafka-tls/ca.pem"

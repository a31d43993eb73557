"""Client settings for the embedded set-up: the local broker's endpoint and generated passwords."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from hub.broker.process import LocalBroker
from hub.paths import mash_home
from hub.secrets import SecretStore
from hub.settings import KafkaSettings


def principal_password(principal: str, home: Path | None = None) -> str:
    """The SCRAM password of ``principal`` in the local secret store (generated once)."""
    store = SecretStore((home or mash_home()) / "secrets")
    return store.get_or_create(f"kafka-{principal}").get_secret_value()


def client_settings(principal: str, home: Path | None = None) -> KafkaSettings:
    """Settings from MASH_KAFKA_* when the environment names a cluster, else the local broker."""
    if os.environ.get("MASH_KAFKA_BOOTSTRAP_SERVERS"):
        return KafkaSettings()
    return local_settings(principal, home)


def local_tls() -> bool:
    """Whether clients of the local broker use its TLS listener (MASH_BROKER_TLS=1)."""
    return os.environ.get("MASH_BROKER_TLS", "").strip().lower() in {"1", "true", "yes"}


def local_settings(principal: str, home: Path | None = None) -> KafkaSettings:
    """How ``principal`` reaches the project's own broker under ``home``: SASL/SCRAM on the
    loopback port, or over its TLS listener with MASH_BROKER_TLS=1."""
    home = home or mash_home()
    broker = LocalBroker(home)
    admin = broker.admin_settings()
    settings = (
        admin
        if principal == "admin"
        else KafkaSettings(
            bootstrap_servers=admin.bootstrap_servers,
            username=principal,
            password=SecretStr(principal_password(principal, home)),
        )
    )
    return broker.tls_settings(settings) if local_tls() else settings

"""The Kafka client settings refuse combinations that would silently skip authentication."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from hub.settings import KafkaSettings


def test_sasl_credentials_with_plaintext_protocol_are_rejected() -> None:
    """aiokafka #627: SASL options on a PLAINTEXT connection would be silently ignored."""
    with pytest.raises(ValidationError, match="WITHOUT authentication"):
        KafkaSettings(security_protocol="PLAINTEXT", username="police", password=SecretStr("x"))


def test_sasl_protocol_without_credentials_is_rejected() -> None:
    """A SASL protocol with no username/password is a configuration error, not a default."""
    with pytest.raises(ValidationError, match="needs sasl_mechanism, username and password"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT")


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Services are configured by MASH_KAFKA_* variables."""
    monkeypatch.setenv("MASH_KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("MASH_KAFKA_USERNAME", "health")
    monkeypatch.setenv("MASH_KAFKA_PASSWORD", "s3cret")
    settings = KafkaSettings()
    kwargs = settings.aiokafka_kwargs()
    assert kwargs["bootstrap_servers"] == "broker:9092"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "health"
    assert kwargs["sasl_plain_password"] == "s3cret"


def test_password_is_masked_when_printed() -> None:
    """Secrets never appear in reprs (and so never in logs)."""
    settings = KafkaSettings(username="police", password=SecretStr("hunter2-secret"))
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.model_dump())


def test_confluent_config_carries_sasl() -> None:
    """The admin client gets the same identity as the data path."""
    conf = KafkaSettings(username="admin", password=SecretStr("pw")).confluent_config()
    assert conf["security.protocol"] == "SASL_PLAINTEXT"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["sasl.username"] == "admin"


def test_tls_file_needs_tls_protocol() -> None:
    """A CA file on a non-TLS connection would give a false sense of security."""
    with pytest.raises(ValidationError, match="does not use TLS"):
        KafkaSettings(username="a", password=SecretStr("b"), ssl_cafile="/tmp/ca.pem")  # type: ignore[arg-type]

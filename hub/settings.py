"""Connection settings for Kafka clients, shared by every service and CLI command.

aiokafka silently ignores SASL options unless the protocol is SASL_* (aiokafka #627), so this
model refuses that combination instead of letting a service connect unauthenticated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaSettings(BaseSettings):
    """How one principal reaches the broker (env prefix MASH_KAFKA_)."""

    model_config = SettingsConfigDict(env_prefix="MASH_KAFKA_", extra="forbid", frozen=True)

    bootstrap_servers: str = Field(default="127.0.0.1:19092", min_length=1)
    security_protocol: SecurityProtocol = "SASL_PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    ssl_cafile: Path | None = None

    @model_validator(mode="after")
    def _sasl_needs_sasl_protocol(self) -> KafkaSettings:
        if self.password_file is not None and self.password is None:
            try:
                secret = self.password_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"cannot read password_file {self.password_file}: {exc}") from exc
            object.__setattr__(self, "password", SecretStr(secret))
        sasl_given = self.username is not None or self.password is not None
        is_sasl = self.security_protocol.startswith("SASL_")
        if sasl_given and not is_sasl:
            raise ValueError(
                f"username/password are set but security_protocol is {self.security_protocol}: "
                "the Kafka client would silently connect WITHOUT authentication (aiokafka #627). "
                "Use SASL_PLAINTEXT or SASL_SSL, or remove the credentials."
            )
        if is_sasl and (self.sasl_mechanism is None or not self.username or self.password is None):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs sasl_mechanism, "
                "username and password"
            )
        if self.ssl_cafile is not None and not self.security_protocol.endswith("SSL"):
            raise ValueError("ssl_cafile is set but security_protocol does not use TLS")
        return self

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL_"):
            assert self.password is not None
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password.get_secret_value(),
            }
        if self.security_protocol.endswith("SSL"):
            from aiokafka.helpers import create_ssl_context

            cafile = str(self.ssl_cafile) if self.ssl_cafile else None
            kwargs["ssl_context"] = create_ssl_context(cafile=cafile)
        return kwargs

    def confluent_config(self) -> dict[str, str]:
        """Configuration for confluent-kafka's AdminClient (provisioning only)."""
        conf = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL_"):
            assert self.password is not None and self.username is not None
            assert self.sasl_mechanism is not None
            conf |= {
                "sasl.mechanism": self.sasl_mechanism,
                "sasl.username": self.username,
                "sasl.password": self.password.get_secret_value(),
            }
        if self.ssl_cafile is not None:
            conf["ssl.ca.location"] = str(self.ssl_cafile)
        return conf

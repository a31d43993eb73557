"""The generated server.properties is secured: SCRAM clients, ACLs, deny by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.broker.config import BrokerConfig, render_server_properties


def _props(**overrides: object) -> dict[str, str]:
    base: dict[str, object] = {
        "data_dir": Path("/tmp/d"),
        "client_port": 1,
        "controller_port": 2,
        "admin_password": "a",
        "controller_password": "c",
    }
    text = render_server_properties(BrokerConfig(**(base | overrides)))  # type: ignore[arg-type]
    return dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )


def test_clients_must_authenticate_and_are_denied_by_default() -> None:
    """SASL on every listener, StandardAuthorizer, no allow-if-no-ACL."""
    props = _props()
    assert (
        props["listener.security.protocol.map"] == "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    assert props["auto.create.topics.enable"] == "false"


def test_listens_on_loopback_only() -> None:
    """The embedded broker is never reachable from another machine."""
    props = _props(client_port=5000, controller_port=5001)
    assert props["listeners"] == "CLIENT://127.0.0.1:5000,CONTROLLER://127.0.0.1:5001"


def test_passwords_that_would_break_the_jaas_line_are_refused() -> None:
    """Commas break --add-scram and quotes break JAAS; refuse instead of mis-configuring."""
    with pytest.raises(ValueError, match="must not contain"):
        _props(admin_password='bad"pw')
    with pytest.raises(ValueError, match="must not contain"):
        _props(controller_password="a,b")


def test_the_tls_listener_is_sasl_scram_over_tls_with_the_pem_keystore() -> None:
    """SECURE is SASL_SSL with SCRAM-SHA-512 and the PEM keystore; the plain listener stays."""
    props = _props(tls_port=3, tls_keystore=Path("/tmp/tls/broker.pem"))
    assert props["listeners"].split(",")[-1] == "SECURE://127.0.0.1:3"
    assert "SECURE://127.0.0.1:3" in props["advertised.listeners"]
    assert props["listener.security.protocol.map"].split(",") == [
        "CLIENT:SASL_PLAINTEXT",
        "CONTROLLER:SASL_PLAINTEXT",
        "SECURE:SASL_SSL",
    ]
    assert props["listener.name.secure.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.secure.ssl.keystore.type"] == "PEM"
    assert props["listener.name.secure.ssl.keystore.location"] == "/tmp/tls/broker.pem"
    assert "ScramLoginModule" in props["listener.name.secure.scram-sha-512.sasl.jaas.config"]


def test_a_tls_port_without_a_keystore_is_refused() -> None:
    """Half a TLS listener is a configuration error, not a broker that fails to start."""
    with pytest.raises(ValueError, match="both"):
        _props(tls_port=3)

"""The local broker's TLS files: a server certificate for loopback signed by the run folder's
own authority, private keys readable by their owner only, renewed before it lapses."""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from hub.broker.tls import SERVER_LIFETIME, ensure_broker_tls

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_the_server_certificate_is_for_loopback_and_signed_by_the_authority(
    tmp_path: Path,
) -> None:
    """SANs 127.0.0.1 and localhost, server use only, issued by ca.pem, not itself a CA."""
    tls = ensure_broker_tls(tmp_path / "tls", "127.0.0.1", NOW)
    cert = tls.server_certificate()
    assert cert is not None
    ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc == NOW + SERVER_LIFETIME


def test_private_keys_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """The folder is 0700, the broker's keystore and the authority's key 0600; ca.pem is
    what clients are given."""
    tls = ensure_broker_tls(tmp_path / "tls", "127.0.0.1", NOW)
    assert stat.S_IMODE(tls.folder.stat().st_mode) == 0o700
    for private in (tls.keystore, tls.ca_key_file):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in tls.ca_file.read_bytes()
    assert tls.keystore.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_files_are_kept_across_starts_and_the_certificate_renewed_before_it_lapses(
    tmp_path: Path,
) -> None:
    """A second start changes nothing; within 30 days of lapsing the server certificate is
    replaced under the same authority, so clients need nothing new."""
    folder = tmp_path / "tls"
    tls = ensure_broker_tls(folder, "127.0.0.1", NOW)
    authority, keystore = tls.ca_file.read_bytes(), tls.keystore.read_bytes()
    ensure_broker_tls(folder, "127.0.0.1", NOW + timedelta(days=300))
    assert tls.keystore.read_bytes() == keystore
    later = NOW + SERVER_LIFETIME - timedelta(days=10)
    ensure_broker_tls(folder, "127.0.0.1", later)
    assert tls.ca_file.read_bytes() == authority
    renewed = tls.server_certificate()
    assert renewed is not None and tls.keystore.read_bytes() != keystore
    assert renewed.not_valid_after_utc == later + SERVER_LIFETIME
    renewed.verify_directly_issued_by(x509.load_pem_x509_certificate(authority))


def test_a_keystore_from_another_authority_is_replaced(tmp_path: Path) -> None:
    """A broker.pem copied from another run folder would not verify against this ca.pem:
    a new one is made under this folder's authority."""
    mine = ensure_broker_tls(tmp_path / "mine", "127.0.0.1", NOW)
    other = ensure_broker_tls(tmp_path / "other", "127.0.0.1", NOW)
    mine.keystore.write_bytes(other.keystore.read_bytes())
    ensure_broker_tls(mine.folder, "127.0.0.1", NOW)
    cert = mine.server_certificate()
    assert cert is not None
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(mine.ca_file.read_bytes()))


def test_mash_broker_tls_makes_files_for_a_broker_it_does_not_run(tmp_path: Path) -> None:
    """`mash broker tls --host kafka` (docker-compose): a certificate naming that host."""
    from click.testing import CliRunner

    from hub.cli import cli

    result = CliRunner().invoke(cli, ["broker", "tls", "--host", "kafka", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "clients trust" in result.output
    cert = x509.load_pem_x509_certificates((tmp_path / "broker.pem").read_bytes())[0]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kafka" in names.get_values_for_type(x509.DNSName)

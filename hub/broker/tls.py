"""The local broker's TLS: a private certificate authority made once per run folder and a
server certificate for 127.0.0.1/localhost it signs, renewed before it lapses.

Clients trust ``ca.pem`` (MASH_KAFKA_SSL_CAFILE); the broker reads ``broker.pem`` (its PKCS#8
key and certificate chain, Kafka's PEM keystore). Keys never leave the folder, which is 0700.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = timedelta(days=5 * 365)
SERVER_LIFETIME = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)  # a server certificate this close to lapsing is replaced


@dataclass(frozen=True)
class BrokerTls:
    """Where the local broker's TLS files are."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        """The authority's certificate: what clients trust."""
        return self.folder / "ca.pem"

    @property
    def ca_key_file(self) -> Path:
        """The authority's private key (to renew the server certificate)."""
        return self.folder / "ca-key.pem"

    @property
    def keystore(self) -> Path:
        """The broker's key and certificate chain (ssl.keystore.type=PEM)."""
        return self.folder / "broker.pem"

    def server_certificate(self) -> x509.Certificate | None:
        """The broker's current certificate, if one has been made."""
        if not self.keystore.is_file():
            return None
        return x509.load_pem_x509_certificates(self.keystore.read_bytes())[0]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MASH Exchange (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (replacing any earlier one)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(tls: BrokerTls, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("MASH Exchange local broker CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(tls.ca_key_file, _pem_key(key))
    tls.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _make_server(
    tls: BrokerTls,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    host: str,
    now: datetime,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_LIFETIME, ca.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(
        serialization.Encoding.PEM
    )
    _write_private(tls.keystore, _pem_key(key) + chain)


def ensure_broker_tls(folder: Path, host: str, now: datetime | None = None) -> BrokerTls:
    """The TLS files under ``folder``: the authority made once, the server certificate made
    when missing, for another host, or within RENEW_BEFORE of lapsing (clients keep trusting
    the same ca.pem across renewals; a lapsing authority is replaced with it)."""
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    tls = BrokerTls(folder)
    ca: x509.Certificate | None = None
    ca_key: ec.EllipticCurvePrivateKey | None = None
    if tls.ca_file.is_file() and tls.ca_key_file.is_file():
        ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
        loaded = serialization.load_pem_private_key(tls.ca_key_file.read_bytes(), None)
        if isinstance(loaded, ec.EllipticCurvePrivateKey) and ca.not_valid_after_utc > now + (
            RENEW_BEFORE
        ):
            ca_key = loaded
    if ca is None or ca_key is None:
        ca, ca_key = _make_ca(tls, now)
    current = tls.server_certificate()
    if (
        current is None
        or not _issued_by(current, ca)
        or current.not_valid_after_utc <= now + RENEW_BEFORE
        or current.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value != host
    ):
        _make_server(tls, ca, ca_key, host, now)
    return tls


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether the authority's key signed ``cert`` (not another authority of the same name)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True

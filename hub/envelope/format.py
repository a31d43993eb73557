"""The envelope's wire format: Avro-encoded header and sealed message, and the exact byte
strings that are signed, used as associated data, and bound into HPKE.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from fastavro import schemaless_reader, schemaless_writer

from hub.errors import MessageRejected, RejectReason
from hub.schemas import SchemaRegistry

ENVELOPE_VERSION = 1
HPKE_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_SIG_DOMAIN = b"MASH-ENVELOPE-SIG-v1\x00"
_WRAP_DOMAIN = b"MASH-ENVELOPE-WRAP-v1\x00"
_COMMIT_DOMAIN = b"MASH-ENVELOPE-COMMIT-v1"
MAX_SEALED_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Header:
    """Authenticated metadata of one message (no personal data, ever)."""

    version: int
    message_id: str
    correlation_id: str
    topic: str
    schema_name: str
    schema_sha256: bytes
    sender: str
    sender_key_id: str
    recipient_key_ids: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    key_commitment: bytes

    def to_record(self) -> dict[str, Any]:
        """The mash.EnvelopeHeader record."""
        return {**self.__dict__, "recipient_key_ids": list(self.recipient_key_ids)}


@dataclass(frozen=True)
class Sealed:
    """A parsed mash.SealedMessage."""

    header_bytes: bytes
    nonce: bytes
    ciphertext: bytes
    wrapped_keys: tuple[tuple[str, bytes], ...]
    signature: bytes


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def signed_bytes(
    header: bytes, nonce: bytes, ciphertext: bytes, wrapped: tuple[tuple[str, bytes], ...]
) -> bytes:
    """What the sender's Ed25519 signature covers (length-prefixed, domain-separated)."""
    parts = [_SIG_DOMAIN, _lp(header), _lp(nonce), _lp(ciphertext), struct.pack(">I", len(wrapped))]
    parts += [_lp(kid.encode()) + _lp(blob) for kid, blob in wrapped]
    return b"".join(parts)


def wrap_info(header: bytes, recipient_key_id: str) -> bytes:
    """HPKE info: binds each wrapped key to this header and this recipient key."""
    return _WRAP_DOMAIN + hashlib.sha256(header).digest() + recipient_key_id.encode()


def key_commitment(data_key: bytes) -> bytes:
    """HMAC-SHA256 of the data key: a ciphertext opens under one key only."""
    return hmac.digest(data_key, _COMMIT_DOMAIN, "sha256")


class EnvelopeCodec:
    """Avro (de)serialisation of headers and sealed messages with their own schemas."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self._header = registry.current("mash.EnvelopeHeader")
        self._sealed = registry.current("mash.SealedMessage")
        self._magic = b"\xc3\x01" + self._sealed.crc64

    def encode_header(self, header: Header) -> bytes:
        """Avro binary of the header, the exact bytes that are signed."""
        out = io.BytesIO()
        schemaless_writer(out, self._header.parsed, header.to_record(), strict=True)
        return out.getvalue()

    def decode_header(self, data: bytes) -> Header:
        """Parse header bytes; MALFORMED on anything odd."""
        body = io.BytesIO(data)
        try:
            rec = cast(dict[str, Any], schemaless_reader(body, self._header.parsed, None))
        except Exception as exc:
            raise MessageRejected(
                RejectReason.MALFORMED, f"header does not decode: {type(exc).__name__}"
            ) from exc
        if body.tell() != len(data):
            raise MessageRejected(RejectReason.MALFORMED, "header has trailing bytes")
        rec["recipient_key_ids"] = tuple(rec["recipient_key_ids"])
        return Header(**rec)

    def encode_sealed(self, sealed: Sealed) -> bytes:
        """The framed mash.SealedMessage bytes that go on the wire."""
        out = io.BytesIO()
        out.write(self._magic)
        record = {
            "header": sealed.header_bytes,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
            "signature": sealed.signature,
            "wrapped_keys": [{"recipient_key_id": k, "wrapped": w} for k, w in sealed.wrapped_keys],
        }
        schemaless_writer(out, self._sealed.parsed, record, strict=True)
        return out.getvalue()

    def decode_sealed(self, data: bytes) -> Sealed:
        """Parse wire bytes; MALFORMED unless it is exactly one framed SealedMessage."""
        if not isinstance(data, bytes | bytearray) or len(data) > MAX_SEALED_BYTES:
            raise MessageRejected(RejectReason.MALFORMED, "not bytes, or larger than allowed")
        if data[: len(self._magic)] != self._magic:
            raise MessageRejected(RejectReason.MALFORMED, "not a sealed MASH message (frame)")
        body = io.BytesIO(data[len(self._magic) :])
        try:
            rec = cast(dict[str, Any], schemaless_reader(body, self._sealed.parsed, None))
        except Exception as exc:
            raise MessageRejected(
                RejectReason.MALFORMED, f"envelope does not decode: {type(exc).__name__}"
            ) from exc
        if body.tell() != len(data) - len(self._magic):
            raise MessageRejected(RejectReason.MALFORMED, "envelope has trailing bytes")
        wrapped = tuple((w["recipient_key_id"], w["wrapped"]) for w in rec["wrapped_keys"])
        return Sealed(rec["header"], rec["nonce"], rec["ciphertext"], wrapped, rec["signature"])

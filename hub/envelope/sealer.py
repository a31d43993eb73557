"""Seal a record: Avro-encode, encrypt with a fresh data key, wrap it per recipient, sign."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.codec import Codec
from hub.codec_parts import Shared
from hub.envelope.format import (
    ENVELOPE_VERSION,
    HPKE_SUITE,
    EnvelopeCodec,
    Header,
    Sealed,
    key_commitment,
    signed_bytes,
    wrap_info,
)
from hub.keys.ring import KeyRing

DEFAULT_TTL = timedelta(days=7)


class Sealer:
    """Seals messages as one principal (its signing key) to named recipient principals."""

    def __init__(
        self,
        ring: KeyRing,
        codec: Codec | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ring = ring
        self.codec = codec or Codec()
        self.envelopes = EnvelopeCodec(self.codec.registry)
        self.clock = clock

    def seal(
        self,
        *,
        topic: str,
        schema_name: str,
        record: dict[str, Any],
        recipients: Sequence[str],
        correlation_id: str,
        message_id: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        shared: Shared | None = None,
    ) -> tuple[bytes, Header]:
        """The wire bytes for ``record`` on ``topic``, readable only by ``recipients``
        (``shared``: the batch's shared values, encoded once; see hub.codec_parts)."""
        payload, schema_sha = self.codec.encode(schema_name, record, shared)
        return self.seal_bytes(
            topic=topic,
            schema_name=schema_name,
            schema_sha256=schema_sha,
            payload=payload,
            recipients=recipients,
            correlation_id=correlation_id,
            message_id=message_id,
            ttl=ttl,
        )

    def seal_bytes(
        self,
        *,
        topic: str,
        schema_name: str,
        schema_sha256: bytes,
        payload: bytes,
        recipients: Sequence[str],
        correlation_id: str,
        message_id: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
    ) -> tuple[bytes, Header]:
        """Seal an already encoded payload (the crypto alone; ``seal`` encodes first)."""
        if not recipients:
            raise ValueError("a sealed message needs at least one recipient")
        now = self.clock()
        recipient_keys = [self.ring.recipient_key(r, now) for r in dict.fromkeys(recipients)]
        data_key = AESGCM.generate_key(bit_length=256)
        header = Header(
            version=ENVELOPE_VERSION,
            message_id=message_id or str(uuid.uuid4()),
            correlation_id=correlation_id,
            topic=topic,
            schema_name=schema_name,
            schema_sha256=schema_sha256,
            sender=self.ring.principal,
            sender_key_id=self.ring.signing_key_id,
            recipient_key_ids=tuple(k.key_id for k in recipient_keys),
            created_at=now,
            expires_at=now + ttl,
            key_commitment=key_commitment(data_key),
        )
        header_bytes = self.envelopes.encode_header(header)
        nonce = os.urandom(12)
        ciphertext = AESGCM(data_key).encrypt(nonce, payload, header_bytes)
        wrapped = tuple(
            (
                k.key_id,
                HPKE_SUITE.encrypt(data_key, k.encryptor(), info=wrap_info(header_bytes, k.key_id)),
            )
            for k in recipient_keys
        )
        signature = self.ring.signing_key.sign(
            signed_bytes(header_bytes, nonce, ciphertext, wrapped)
        )
        sealed = Sealed(header_bytes, nonce, ciphertext, wrapped, signature)
        return self.envelopes.encode_sealed(sealed), header

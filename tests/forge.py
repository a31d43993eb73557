"""A malicious or broken sender for tests: builds envelopes field by field and signs them with
any key it holds, so each check of the opener can be hit on its own."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.envelope.format import (
    HPKE_SUITE,
    EnvelopeCodec,
    Header,
    Sealed,
    signed_bytes,
    wrap_info,
)
from hub.keys import KeyRing, KeyUse


def parse(envelopes: EnvelopeCodec, data: bytes) -> tuple[Sealed, Header]:
    """Split wire bytes into the sealed parts and the header."""
    sealed = envelopes.decode_sealed(data)
    return sealed, envelopes.decode_header(sealed.header_bytes)


def resign(
    envelopes: EnvelopeCodec, sealed: Sealed, key: Ed25519PrivateKey, **header_changes: Any
) -> bytes:
    """Change header fields (keeping everything else) and sign with ``key``."""
    header = dataclasses.replace(envelopes.decode_header(sealed.header_bytes), **header_changes)
    header_bytes = envelopes.encode_header(header)
    signature = key.sign(
        signed_bytes(header_bytes, sealed.nonce, sealed.ciphertext, sealed.wrapped_keys)
    )
    return envelopes.encode_sealed(
        dataclasses.replace(sealed, header_bytes=header_bytes, signature=signature)
    )


def rebuild(
    envelopes: EnvelopeCodec,
    header: Header,
    payload: bytes,
    data_key: bytes,
    recipient_name: str,
    signer: KeyRing,
    ciphertext: bytes | None = None,
    wrapped_key: bytes | None = None,
) -> bytes:
    """A fully custom envelope: chosen data key, payload, ciphertext and wrapped key."""
    header_bytes = envelopes.encode_header(header)
    nonce = os.urandom(12)
    ct = (
        ciphertext
        if ciphertext is not None
        else AESGCM(data_key).encrypt(nonce, payload, header_bytes)
    )
    entry = signer.directory.current(recipient_name, KeyUse.ENCRYPT)
    assert entry is not None
    blob = HPKE_SUITE.encrypt(
        wrapped_key if wrapped_key is not None else data_key,
        entry.encryptor(),
        info=wrap_info(header_bytes, entry.key_id),
    )
    wrapped = ((entry.key_id, blob),)
    signature = signer.signing_key.sign(signed_bytes(header_bytes, nonce, ct, wrapped))
    return envelopes.encode_sealed(Sealed(header_bytes, nonce, ct, wrapped, signature))

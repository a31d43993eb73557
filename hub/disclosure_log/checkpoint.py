"""Signed checkpoints in the C2SP tlog-checkpoint note format:

    <origin>\\n<size>\\n<base64 root>\\n\\n— <origin> <base64(key hash[:4] || signature)>\\n

plus the hash-chain head, so a verifier holding only checkpoints (witnessed outside the
database, on the mash.audit topic) can detect rewriting and truncation.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


@dataclass(frozen=True)
class Checkpoint:
    """A log size with its Merkle root and chain head, signed by the firewall."""

    origin: str
    size: int
    root: bytes
    chain: bytes
    note: str

    def body(self) -> str:
        """The signed part of the note."""
        return _body(self.origin, self.size, self.root, self.chain)


def _body(origin: str, size: int, root: bytes, chain: bytes) -> str:
    return (
        f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
        f"chain {base64.b64encode(chain).decode()}\n"
    )


def _key_hash(origin: str, public: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(origin.encode() + b"\n\x01" + public.public_bytes_raw()).digest()[:4]


def sign_checkpoint(
    origin: str, size: int, root: bytes, chain: bytes, key: Ed25519PrivateKey
) -> Checkpoint:
    """Make and sign a checkpoint note."""
    body = _body(origin, size, root, chain)
    sig = _key_hash(origin, key.public_key()) + key.sign(body.encode())
    note = f"{body}\n\u2014 {origin} {base64.b64encode(sig).decode()}\n"
    return Checkpoint(origin, size, root, chain, note)


def verify_checkpoint(note: str, public: Ed25519PublicKey) -> Checkpoint:
    """Parse a note and check its signature; ValueError if it is not authentic."""
    try:
        body, signature_line = note.split("\n\n", 1)
        body += "\n"
        lines = body.splitlines()
        origin, size, root_b64, chain_line = lines
        name, sig_b64 = signature_line.strip().removeprefix("\u2014 ").rsplit(" ", 1)
        sig = base64.b64decode(sig_b64)
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed checkpoint note") from exc
    if name != origin or sig[:4] != _key_hash(origin, public):
        raise ValueError("checkpoint signed by another key or for another origin")
    try:
        public.verify(sig[4:], body.encode())
    except InvalidSignature as exc:
        raise ValueError("checkpoint signature does not verify") from exc
    return Checkpoint(
        origin,
        int(size),
        base64.b64decode(root_b64),
        base64.b64decode(chain_line.removeprefix("chain ")),
        note,
    )

"""The key directory: every public key with its owner, use, validity and status, signed by root.

Key id = first 16 bytes of SHA-256 of the raw public key, in hex. The directory is canonical
JSON; its Ed25519 signature by the root key is checked against a pinned root public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

EXPIRY_WARNING = timedelta(days=30)


class KeyUse(StrEnum):
    """What a key is for; a key is never used for both."""

    SIGN = "sign"
    ENCRYPT = "encrypt"


class KeyStatus(StrEnum):
    """Revoked keys are refused for every purpose, whatever their validity window."""

    ACTIVE = "active"
    REVOKED = "revoked"


def key_id(raw_public_key: bytes) -> str:
    """Truncated SHA-256 of the raw public key (32 hex characters)."""
    return hashlib.sha256(raw_public_key).digest()[:16].hex()


class KeyEntry(BaseModel):
    """One public key in the directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str
    owner: str
    use: KeyUse
    public_key: str = Field(description="raw public key, base64")
    not_before: datetime
    not_after: datetime
    status: KeyStatus = KeyStatus.ACTIVE
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    def raw(self) -> bytes:
        """The raw 32-byte public key."""
        return base64.b64decode(self.public_key)

    @cached_property
    def _verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw())

    @cached_property
    def _encryptor(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(self.raw())

    def verifier(self) -> Ed25519PublicKey:
        """The Ed25519 public key (signing keys only), parsed once."""
        return self._verifier

    def encryptor(self) -> X25519PublicKey:
        """The X25519 public key (encryption keys only), parsed once."""
        return self._encryptor

    def valid_at(self, when: datetime) -> bool:
        """Active and inside its validity window at ``when``."""
        return self.status is KeyStatus.ACTIVE and self.not_before <= when <= self.not_after

    def expires_soon(self, now: datetime, within: timedelta = EXPIRY_WARNING) -> bool:
        """Active, and lapses within ``within`` of ``now``."""
        return self.status is KeyStatus.ACTIVE and now <= self.not_after <= now + within


class KeyDirectory(BaseModel):
    """The signed list of all keys; ``serial`` grows with every change."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    serial: int = 0
    issued_at: datetime
    root_key_id: str
    entries: list[KeyEntry] = Field(default_factory=list)
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """Canonical JSON of everything but the signature."""
        body = self.model_dump(mode="json", exclude={"signature"})
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def sign(self, root: Ed25519PrivateKey) -> None:
        """Sign with the root key (after any change)."""
        self.signature = base64.b64encode(root.sign(self.signed_bytes())).decode()

    def verify(self, root_public: Ed25519PublicKey) -> None:
        """Raise ValueError unless the root key signed exactly this directory."""
        try:
            root_public.verify(base64.b64decode(self.signature), self.signed_bytes())
        except (InvalidSignature, ValueError) as exc:
            raise ValueError("the key directory's root signature does not verify") from exc
        if key_id(root_public.public_bytes_raw()) != self.root_key_id:
            raise ValueError("the key directory names another root key")

    def get(self, kid: str) -> KeyEntry | None:
        """An entry by key id."""
        return next((e for e in self.entries if e.key_id == kid), None)

    def current(self, owner: str, use: KeyUse, when: datetime | None = None) -> KeyEntry | None:
        """The newest key of ``owner`` for ``use`` valid at ``when`` (default now)."""
        when = when or datetime.now(UTC)
        valid = [e for e in self.entries if e.owner == owner and e.use is use and e.valid_at(when)]
        return max(valid, key=lambda e: e.not_before, default=None)

    def owners(self) -> list[str]:
        """Every principal with at least one key."""
        return sorted({e.owner for e in self.entries})

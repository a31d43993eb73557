"""A service's view of the keys: its own private keys plus the verified directory.

Loaded once at start; a service whose keys are missing, lapsed or absent from the directory
refuses to start with KeysUnavailable.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from hub.keys.directory import KeyDirectory, KeyEntry, KeyUse
from hub.keys.store import KeyStore

log = logging.getLogger(__name__)


class KeysUnavailable(RuntimeError):
    """This principal cannot run: its keys are missing, expired, or not in the directory."""


class KeyRing:
    """Signing key, decryption keys and the directory for one principal."""

    def __init__(
        self,
        principal: str,
        directory: KeyDirectory,
        signing: tuple[str, Ed25519PrivateKey],
        decryption: dict[str, X25519PrivateKey],
    ) -> None:
        self.principal = principal
        self.directory = directory
        self.signing_key_id, self.signing_key = signing
        self.decryption = decryption

    @classmethod
    def load(cls, store: KeyStore, principal: str, now: datetime | None = None) -> KeyRing:
        """Verify the directory and decrypt this principal's keys, or raise KeysUnavailable."""
        now = now or datetime.now(UTC)
        try:
            directory = store.load_directory()
        except FileNotFoundError as exc:
            raise KeysUnavailable(f"no key directory at {store.folder} (`mash keys init`)") from exc
        except ValueError as exc:
            raise KeysUnavailable(f"{store.directory_file}: {exc}") from exc
        try:
            private = store.private_keys(principal)
        except (ValueError, TypeError) as exc:
            raise KeysUnavailable(f"cannot decrypt the private keys of {principal}: {exc}") from exc
        sign_entry = directory.current(principal, KeyUse.SIGN, now)
        if sign_entry is None or sign_entry.key_id not in private:
            raise KeysUnavailable(
                f"{principal} has no valid signing key in the directory "
                "with its private half here (missing, expired or revoked)"
            )
        decryption: dict[str, X25519PrivateKey] = {}
        for kid, key in private.items():
            entry = directory.get(kid)
            if entry is not None and entry.use is KeyUse.ENCRYPT and entry.owner == principal:
                assert isinstance(key, X25519PrivateKey)
                decryption[kid] = key
        if directory.current(principal, KeyUse.ENCRYPT, now) is None or not decryption:
            raise KeysUnavailable(f"{principal} has no valid encryption key in the directory")
        signing = private[sign_entry.key_id]
        assert isinstance(signing, Ed25519PrivateKey)
        ring = cls(principal, directory, (sign_entry.key_id, signing), decryption)
        for entry in ring.expiring(now):
            log.warning(
                "key %s of %s (%s) expires at %s",
                entry.key_id,
                entry.owner,
                entry.use.value,
                entry.not_after.isoformat(),
            )
        return ring

    def adopt(self, fresh: KeyRing) -> None:
        """Take ``fresh``'s directory and keys in place (a rotation or revocation read while
        running), so every sealer and opener holding this ring uses them at once."""
        self.directory = fresh.directory
        self.signing_key_id, self.signing_key = fresh.signing_key_id, fresh.signing_key
        self.decryption = fresh.decryption

    def expiring(self, now: datetime) -> list[KeyEntry]:
        """This principal's current keys that lapse within the warning period (keys already
        superseded by a rotation are expected to lapse and are not reported)."""
        current = (self.directory.current(self.principal, use, now) for use in KeyUse)
        return [e for e in current if e is not None and e.expires_soon(now)]

    def recipient_key(self, principal: str, now: datetime) -> KeyEntry:
        """The encryption key to seal to ``principal`` now."""
        entry = self.directory.current(principal, KeyUse.ENCRYPT, now)
        if entry is None:
            raise KeysUnavailable(f"no valid encryption key for recipient {principal!r}")
        return entry

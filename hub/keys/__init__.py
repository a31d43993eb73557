"""Keys: per-principal X25519 (encryption) and Ed25519 (signing) keys, a root-signed directory."""

from hub.keys.directory import KeyDirectory, KeyEntry, KeyStatus, KeyUse, key_id
from hub.keys.ring import KeyRing, KeysUnavailable
from hub.keys.store import KeyStore

__all__ = [
    "KeyDirectory",
    "KeyEntry",
    "KeyRing",
    "KeyStatus",
    "KeyStore",
    "KeyUse",
    "KeysUnavailable",
    "key_id",
]

"""The embedded deployment's key store: MASH_HOME/keys with passphrases from the secret store."""

from __future__ import annotations

from pathlib import Path

from hub.keys.store import KeyStore, local_passphrases
from hub.paths import mash_home
from hub.secrets import SecretStore


def local_key_store(home: Path | None = None) -> KeyStore:
    """Keys under ``home/keys`` (env MASH_KEYS_DIR overrides), passphrases under secrets."""
    import os

    home = home or mash_home()
    folder = Path(os.environ["MASH_KEYS_DIR"]) if "MASH_KEYS_DIR" in os.environ else home / "keys"
    return KeyStore(folder, local_passphrases(SecretStore(home / "secrets")))

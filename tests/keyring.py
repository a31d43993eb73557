"""Test key material: one key store with every topology principal, rings loaded once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hub.keys import KeyRing, KeyStore
from hub.topology import Topology

PRINCIPALS = Topology.load().service_principals()


class TestKeys:
    """A key store under a temporary folder with fixed test passphrases."""

    __test__ = False

    def __init__(self, folder: Path) -> None:
        self.store = KeyStore(folder, lambda who: f"test-passphrase-{who}".encode())
        self.store.init(PRINCIPALS)
        self.ring = cache(self._ring)

    def _ring(self, principal: str) -> KeyRing:
        return KeyRing.load(self.store, principal)

    def reload(self, principal: str) -> KeyRing:
        """A fresh ring (after a rotation or revocation changed the directory)."""
        return KeyRing.load(self.store, principal)

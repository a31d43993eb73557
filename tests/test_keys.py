"""Keys: a root-signed directory, encrypted private keys, rotation, revocation, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.keys import KeyRing, KeyStore, KeysUnavailable, KeyUse, key_id
from hub.keys.store import read_private


def _store(tmp_path: Path, **kw: object) -> KeyStore:
    return KeyStore(tmp_path / "keys", lambda who: f"pw-{who}".encode(), **kw)  # type: ignore[arg-type]


def test_init_is_idempotent_and_separates_uses(tmp_path: Path) -> None:
    """Each principal gets one signing and one encryption key, once."""
    store = _store(tmp_path)
    assert len(store.init(["police", "firewall"])) == 4
    assert store.init(["police", "firewall"]) == []
    directory = store.load_directory()
    police = [e for e in directory.entries if e.owner == "police"]
    assert {e.use for e in police} == {KeyUse.SIGN, KeyUse.ENCRYPT}
    assert all(e.key_id == key_id(e.raw()) for e in directory.entries)


def test_private_keys_are_encrypted_at_rest(tmp_path: Path) -> None:
    """Key files are 0600, hold no raw key, and refuse a wrong passphrase."""
    store = _store(tmp_path)
    store.init(["police"])
    ring = KeyRing.load(store, "police")
    path = store.private_path("police", ring.signing_key_id)
    assert path.stat().st_mode & 0o777 == 0o600
    raw = ring.signing_key.private_bytes_raw()
    assert raw not in path.read_bytes() and raw.hex().encode() not in path.read_bytes()
    with pytest.raises(ValueError, match="wrong passphrase"):
        read_private(path, b"not-it")


def test_tampered_directory_is_refused(tmp_path: Path) -> None:
    """Editing the directory (e.g. swapping in a key) breaks the root signature."""
    store = _store(tmp_path)
    store.init(["police", "health"])
    doc = json.loads(store.directory_file.read_text())
    doc["entries"][0]["owner"] = "health"
    store.directory_file.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="root signature"):
        store.load_directory()
    with pytest.raises(KeysUnavailable, match="root signature"):
        KeyRing.load(store, "police")


def test_rotation_overlaps_then_old_keys_lapse(tmp_path: Path) -> None:
    """After rotation the old keys stay valid for the overlap only; the new ones are current."""
    store = _store(tmp_path)
    store.init(["police"])
    old = KeyRing.load(store, "police").signing_key_id
    new_sign, _ = store.rotate("police", overlap=timedelta(days=2))
    directory = store.load_directory()
    now = datetime.now(UTC)
    assert directory.current("police", KeyUse.SIGN, now).key_id == new_sign  # type: ignore[union-attr]
    old_entry = directory.get(old)
    assert old_entry is not None and old_entry.valid_at(now + timedelta(days=1))
    assert not old_entry.valid_at(now + timedelta(days=3))
    assert KeyRing.load(store, "police").signing_key_id == new_sign


def test_revoked_signing_key_stops_the_service(tmp_path: Path) -> None:
    """A service whose only signing key is revoked refuses to start."""
    store = _store(tmp_path)
    store.init(["police"])
    store.revoke(KeyRing.load(store, "police").signing_key_id, "stolen")
    with pytest.raises(KeysUnavailable, match="no valid signing key"):
        KeyRing.load(store, "police")


def test_missing_and_expired_keys_stop_the_service(tmp_path: Path) -> None:
    """No directory, no private key, or lapsed keys: KeysUnavailable with the reason."""
    store = _store(tmp_path)
    with pytest.raises(KeysUnavailable, match="no key directory"):
        KeyRing.load(store, "police")
    store.init(["police"], lifetime=timedelta(days=10))
    with pytest.raises(KeysUnavailable, match="no valid signing key"):
        KeyRing.load(store, "firewall")
    with pytest.raises(KeysUnavailable):
        KeyRing.load(store, "police", now=datetime.now(UTC) + timedelta(days=11))


def test_expiry_warning_before_keys_lapse(tmp_path: Path) -> None:
    """Keys that lapse within 30 days are reported; fresh ones are not."""
    store = _store(tmp_path)
    store.init(["police"], lifetime=timedelta(days=20))
    ring = KeyRing.load(store, "police")
    assert {e.use for e in ring.expiring(datetime.now(UTC))} == {KeyUse.SIGN, KeyUse.ENCRYPT}
    store.rotate("police")
    assert KeyRing.load(store, "police").expiring(datetime.now(UTC)) == []

"""Keys on disk: the root key, each principal's private keys (encrypted at rest with a
passphrase) and the root-signed directory. Creates, rotates and revokes keys.

Layout: ``root.pub`` (the pinned trust anchor), ``root.key``, ``directory.json``,
``private/<principal>/<key id>.key``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from hub.keys.directory import KeyDirectory, KeyEntry, KeyStatus, KeyUse, key_id
from hub.secrets import SecretStore

PrivateKey = Ed25519PrivateKey | X25519PrivateKey
Passphrase = Callable[[str], bytes]
DEFAULT_LIFETIME = timedelta(days=365)
DEFAULT_OVERLAP = timedelta(days=7)


def local_passphrases(secrets: SecretStore) -> Passphrase:
    """Passphrases for the embedded set-up: MASH_KEY_PASSPHRASE(_FILE) or generated secrets."""

    def passphrase(principal: str) -> bytes:
        if value := os.environ.get("MASH_KEY_PASSPHRASE"):
            return value.encode()
        if file := os.environ.get("MASH_KEY_PASSPHRASE_FILE"):
            return Path(file).read_text().strip().encode()
        return secrets.get_or_create(f"key-passphrase-{principal}").get_secret_value().encode()

    return passphrase


SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def _kek(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _write_private(path: Path, key: PrivateKey, passphrase: bytes) -> None:
    """Store a private key as JSON: raw key sealed with AES-256-GCM under a scrypt-derived key."""
    alg = "ed25519" if isinstance(key, Ed25519PrivateKey) else "x25519"
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_kek(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, raw, alg.encode()
    )
    doc = {
        "format": "mash-private-key-v1",
        "alg": alg,
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(doc, out)


def read_private(path: Path, passphrase: bytes) -> PrivateKey:
    """Decrypt one private key file; ValueError on a wrong passphrase or a corrupt file."""
    try:
        doc = json.loads(path.read_text())
        kek = _kek(passphrase, base64.b64decode(doc["salt"]), doc["n"], doc["r"], doc["p"])
        raw = AESGCM(kek).decrypt(
            base64.b64decode(doc["nonce"]), base64.b64decode(doc["ciphertext"]), doc["alg"].encode()
        )
    except InvalidTag as exc:
        raise ValueError(f"{path}: wrong passphrase or corrupted key file") from exc
    except (KeyError, TypeError, json.JSONDecodeError, binascii.Error) as exc:
        raise ValueError(f"{path}: not a MASH private key file") from exc
    if doc["alg"] == "ed25519":
        return Ed25519PrivateKey.from_private_bytes(raw)
    if doc["alg"] == "x25519":
        return X25519PrivateKey.from_private_bytes(raw)
    raise ValueError(f"{path}: unknown key algorithm {doc['alg']!r}")


def _raw_public(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


class KeyStore:
    """The key folder of one deployment (in production each agency holds only its own part)."""

    def __init__(
        self,
        folder: Path,
        passphrase: Passphrase,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.folder = folder
        self.passphrase = passphrase
        self.clock = clock

    @property
    def directory_file(self) -> Path:
        """The signed directory (public; distributed to every service)."""
        return self.folder / "directory.json"

    def root_public(self) -> Ed25519PublicKey:
        """The pinned root public key."""
        raw = base64.b64decode((self.folder / "root.pub").read_text().strip())
        return Ed25519PublicKey.from_public_bytes(raw)

    def load_directory(self, verify: bool = True) -> KeyDirectory:
        """The directory, checked against the pinned root key unless ``verify`` is False."""
        directory = KeyDirectory.model_validate_json(self.directory_file.read_text())
        if verify:
            directory.verify(self.root_public())
        return directory

    def private_path(self, owner: str, kid: str) -> Path:
        """Where one private key lives."""
        return self.folder / "private" / owner / f"{kid}.key"

    def _root(self) -> Ed25519PrivateKey:
        key = read_private(self.folder / "root.key", self.passphrase("root"))
        assert isinstance(key, Ed25519PrivateKey)
        return key

    def _save(self, directory: KeyDirectory) -> None:
        directory.serial += 1
        directory.issued_at = self.clock()
        directory.sign(self._root())
        tmp = self.directory_file.with_suffix(".tmp")
        tmp.write_text(directory.model_dump_json(indent=2) + "\n")
        tmp.replace(self.directory_file)

    def init(self, principals: list[str], lifetime: timedelta = DEFAULT_LIFETIME) -> list[str]:
        """Create the root key if needed and a key pair per principal lacking one; idempotent."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (self.folder / "root.key").is_file():
            root = Ed25519PrivateKey.generate()
            _write_private(self.folder / "root.key", root, self.passphrase("root"))
            (self.folder / "root.pub").write_text(base64.b64encode(_raw_public(root)).decode())
            directory = KeyDirectory(issued_at=self.clock(), root_key_id=key_id(_raw_public(root)))
        else:
            directory = self.load_directory()
        created: list[str] = []
        now = self.clock()
        for owner in principals:
            for use in KeyUse:
                if directory.current(owner, use, now) is None:
                    created.append(self._add(directory, owner, use, now, lifetime).key_id)
        if created or not self.directory_file.is_file():
            self._save(directory)
        return created

    def _add(
        self,
        directory: KeyDirectory,
        owner: str,
        use: KeyUse,
        now: datetime,
        lifetime: timedelta,
    ) -> KeyEntry:
        """A new key pair for ``owner``, valid from ``now`` for ``lifetime``."""
        key: PrivateKey = (
            Ed25519PrivateKey.generate() if use is KeyUse.SIGN else X25519PrivateKey.generate()
        )
        raw = _raw_public(key)
        entry = KeyEntry(
            key_id=key_id(raw),
            owner=owner,
            use=use,
            public_key=base64.b64encode(raw).decode(),
            not_before=now,
            not_after=now + lifetime,
        )
        _write_private(self.private_path(owner, entry.key_id), key, self.passphrase(owner))
        directory.entries.append(entry)
        return entry

    def rotate(
        self,
        owner: str,
        overlap: timedelta = DEFAULT_OVERLAP,
        lifetime: timedelta = DEFAULT_LIFETIME,
        activate_after: timedelta = timedelta(0),
    ) -> list[str]:
        """New keys for ``owner``, used from ``activate_after`` on (announced in the directory
        at once, so that on several hosts every key folder holds them before the first message
        that uses them); the old ones stay valid ``overlap`` beyond that so traffic drains."""
        if activate_after < timedelta(0):
            raise ValueError("activate_after cannot be negative")
        directory = self.load_directory()
        now = self.clock()
        if owner not in directory.owners():
            raise KeyError(f"no keys for {owner!r}; run `mash keys init` first")
        starts = now + activate_after
        for i, entry in enumerate(directory.entries):
            if entry.owner == owner and entry.status is KeyStatus.ACTIVE and entry.not_after > now:
                end = min(entry.not_after, starts + overlap)
                directory.entries[i] = entry.model_copy(update={"not_after": end})
        created = [self._add(directory, owner, use, starts, lifetime).key_id for use in KeyUse]
        self._save(directory)
        return created

    def revoke(self, kid: str, reason: str) -> KeyEntry:
        """Mark a key revoked: every message signed by it, or sealed to it, is refused."""
        directory = self.load_directory()
        for i, entry in enumerate(directory.entries):
            if entry.key_id == kid:
                revoked = entry.model_copy(
                    update={
                        "status": KeyStatus.REVOKED,
                        "revoked_at": self.clock(),
                        "revocation_reason": reason,
                    }
                )
                directory.entries[i] = revoked
                self._save(directory)
                return revoked
        raise KeyError(f"no key {kid!r} in the directory")

    def private_keys(self, owner: str) -> dict[str, PrivateKey]:
        """Every private key of ``owner`` present here, decrypted, by key id."""
        folder = self.folder / "private" / owner
        passphrase = self.passphrase(owner)
        return {p.stem: read_private(p, passphrase) for p in sorted(folder.glob("*.key"))}

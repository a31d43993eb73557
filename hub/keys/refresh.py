"""Keeping a running service's key ring current: a rotation or a revocation written to the key
folder is taken in without a restart, an older directory (a rollback to before a revocation)
is refused, and a service whose own keys are no longer usable says so instead of sending what
no recipient would accept."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from hub.keys.directory import KeyDirectory, KeyUse
from hub.keys.highest import HighestSerial
from hub.keys.ring import KeyRing, KeysUnavailable
from hub.keys.store import KeyStore

log = structlog.get_logger(__name__)

MISS_REFRESH_S = 1.0  # an unknown key in a message looks at the folder at most this often

Stamp = tuple[tuple[str, int, int], ...]


def keys_problem(ring: KeyRing, now: datetime) -> str | None:
    """Why ``ring`` cannot be used now (its signing key lapsed or revoked, or the key others
    seal to is not one it holds), or None."""
    directory, principal = ring.directory, ring.principal
    signing = directory.get(ring.signing_key_id)
    if signing is None or not signing.valid_at(now):
        return f"the signing key of {principal} is no longer valid (lapsed or revoked)"
    sealed_to = directory.current(principal, KeyUse.ENCRYPT, now)
    if sealed_to is None:
        return f"{principal} has no valid encryption key in the directory"
    if sealed_to.key_id not in ring.decryption:
        kid = sealed_to.key_id[:12]
        return f"the private half of {principal}'s encryption key {kid} is not here"
    return None


def next_activation(ring: KeyRing, now: datetime) -> datetime | None:
    """When the next of this principal's keys announced for later (a rotation with a delay)
    comes into use, or None: the ring is taken in again then, to sign with it."""
    pending = [
        e.not_before
        for e in ring.directory.entries
        if e.owner == ring.principal and e.not_before > now and e.valid_at(e.not_before)
    ]
    return min(pending, default=None)


class KeyRefresher:
    """Looks at the key folder (the signed directory and this principal's private keys) and
    takes a newer directory into the ring in place, so every sealer and opener holding the ring
    uses it at once."""

    def __init__(
        self,
        store: KeyStore,
        ring: KeyRing,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        highest: HighestSerial | None = None,
    ) -> None:
        self.store = store
        self.ring = ring
        self.clock = clock
        self.highest = highest  # kept across restarts; else the ring's serial is the mark
        self._stamp = self._look()
        self._incomplete = False  # the directory names own keys whose private half is missing
        self._missed_at = 0.0
        self._activates = next_activation(ring, clock())  # own keys announced, not yet in use

    def _look(self) -> Stamp:
        """What the folder holds now, cheaply (names, sizes and change times of its files)."""
        files = [self.store.directory_file]
        folder = self.store.folder / "private" / self.ring.principal
        if folder.is_dir():
            files += sorted(folder.glob("*.key"))
        stamp = []
        for path in files:
            try:
                info = path.stat()
            except OSError:
                continue
            stamp.append((path.name, info.st_size, info.st_mtime_ns))
        return tuple(stamp)

    def refresh(self) -> bool:
        """Take in what changed in the folder since last time; whether the ring changed."""
        stamp = self._look()
        due = self._activates is not None and self.clock() >= self._activates
        if stamp == self._stamp and not self._incomplete and not due:
            return False
        self._stamp = stamp
        try:
            directory = self.store.load_directory()
        except (OSError, ValueError) as exc:  # unreadable, or not signed by the root key
            log.error("key_directory_refused", principal=self.ring.principal, error=str(exc))
            return False
        mark = self.highest.value(directory) if self.highest else 0
        held = max(self.ring.directory.serial, mark)
        if directory.serial < held:
            log.error(
                "key_directory_rollback_refused",
                principal=self.ring.principal,
                serial=directory.serial,
                held=held,
            )
            return False
        if self.highest is not None:
            self.highest.admit(directory)
        return self._take_in(directory)

    def _take_in(self, directory: KeyDirectory) -> bool:
        now = self.clock()
        try:
            fresh = KeyRing.load(self.store, self.ring.principal, now)
        except KeysUnavailable as exc:
            # Others' keys (a rotation, a revocation) still count at once; own keys stay as they
            # are until their private halves arrive (keys_problem says if they are unusable).
            changed = directory.serial != self.ring.directory.serial
            self.ring.directory = directory
            self._incomplete = True
            log.warning(
                "keys_incomplete",
                principal=self.ring.principal,
                serial=directory.serial,
                error=str(exc),
            )
            return changed
        self._activates = next_activation(fresh, now)
        changed = (
            fresh.directory.serial != self.ring.directory.serial
            or fresh.signing_key_id != self.ring.signing_key_id
            or fresh.decryption.keys() != self.ring.decryption.keys()
        )
        self.ring.adopt(fresh)
        self._incomplete = False
        if changed:
            log.info(
                "keys_reloaded",
                principal=self.ring.principal,
                serial=fresh.directory.serial,
                signing_key_id=fresh.signing_key_id[:12],
            )
        return changed

    def on_miss(self) -> bool:
        """A message names a key the ring does not know: look at the folder (at most once a
        MISS_REFRESH_S, so forged key ids cost nothing); whether the ring changed."""
        now = time.monotonic()
        if now - self._missed_at < MISS_REFRESH_S:
            return False
        self._missed_at = now
        return self.refresh()

    def problem(self) -> str | None:
        """Why this service's own keys cannot be used now, or None."""
        return keys_problem(self.ring, self.clock())

    def expiries(self) -> dict[str, datetime]:
        """When each of this principal's keys in use lapses, by use (sign, encrypt)."""
        out: dict[str, datetime] = {}
        signing = self.ring.directory.get(self.ring.signing_key_id)
        if signing is not None:
            out[KeyUse.SIGN.value] = signing.not_after
        sealed_to = self.ring.directory.current(self.ring.principal, KeyUse.ENCRYPT, self.clock())
        if sealed_to is not None:
            out[KeyUse.ENCRYPT.value] = sealed_to.not_after
        return out

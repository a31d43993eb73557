"""Open a sealed message, checking in the brief's order: known sender key -> signature ->
version, topic, time window -> replay -> own key among recipients -> unwrap -> key commitment
-> decrypt -> schema fingerprint -> decode. Every failure is one MessageRejected with a reason.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.codec import Codec
from hub.envelope.format import (
    ENVELOPE_VERSION,
    HPKE_SUITE,
    EnvelopeCodec,
    Header,
    key_commitment,
    signed_bytes,
    wrap_info,
)
from hub.errors import MessageRejected, Redelivered, RejectReason, Resent
from hub.keys.directory import KeyStatus, KeyUse
from hub.keys.ring import KeyRing
from hub.replay import SeenMessages, envelope_digest

MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Opened:
    """A verified, decrypted, decoded message."""

    header: Header
    record: dict[str, Any]
    # The Avro frame as received (written with header.schema_sha256): a service can keep the
    # record as these bytes instead of encoding it again.
    payload: bytes = b""
    position: str = ""  # where it was consumed (hub.replay.position_of), if the caller said
    digest: str = ""  # of the envelope's signature (hub.replay.envelope_digest)

    @property
    def encoded(self) -> tuple[bytes, bytes] | None:
        """(frame, writer schema SHA-256) when the received bytes are known."""
        return (self.payload, self.header.schema_sha256) if self.payload else None


@dataclass(frozen=True)
class OpenedBytes:
    """A verified, decrypted payload, not yet decoded."""

    header: Header
    payload: bytes
    digest: str = ""  # of the envelope's signature (hub.replay.envelope_digest)


def _reject(reason: RejectReason, detail: str) -> MessageRejected:
    return MessageRejected(reason, detail)


class Opener:
    """Opens messages addressed to one principal."""

    def __init__(
        self,
        ring: KeyRing,
        seen: SeenMessages,
        codec: Codec | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_skew: timedelta = MAX_CLOCK_SKEW,
    ) -> None:
        self.ring = ring
        self.seen = seen
        self.codec = codec or Codec()
        self.envelopes = EnvelopeCodec(self.codec.registry)
        self.clock = clock
        self.max_skew = max_skew
        # Looks for keys the ring lacks (a sender or this principal rotated): True if it changed.
        self.refresh: Callable[[], bool] = lambda: False

    def open(
        self,
        data: bytes,
        *,
        topic: str,
        expect: Collection[str] = (),
        remember: bool = True,
        position: str = "",
    ) -> Opened:
        """Verify and decrypt ``data`` consumed from ``topic``; ``expect`` limits schema names.

        With ``remember=False`` the caller records the message id itself once its output is
        durable (see ``remember``), so a crash before then does not lose the message.
        ``position`` (hub.replay.position_of) is where it was consumed: a message already
        processed there is a redelivery (Redelivered), anywhere else a replay (REPLAY).
        """
        opened = self.open_bytes(data, topic=topic, position=position)
        header = opened.header
        # 9. schema fingerprint, 10. decode
        if expect and header.schema_name not in expect:
            raise _reject(
                RejectReason.UNKNOWN_SCHEMA, f"{header.schema_name} not accepted on {topic}"
            )
        record = self.codec.decode(header.schema_name, opened.payload, header.schema_sha256)
        if remember:
            self.remember(header, position, opened.digest)
        return Opened(header, record, opened.payload, position, opened.digest)

    def open_bytes(self, data: bytes, *, topic: str, position: str = "") -> OpenedBytes:
        """Steps 1-8: verify and decrypt, without decoding or remembering the message id."""
        sealed = self.envelopes.decode_sealed(data)
        header = self.envelopes.decode_header(sealed.header_bytes)
        # 1. known sender key, in the signed directory, owned by the named sender
        entry = self.ring.directory.get(header.sender_key_id)
        if entry is None and self.refresh():  # a sender's new key, not yet read here
            entry = self.ring.directory.get(header.sender_key_id)
        directory = self.ring.directory
        if entry is None or entry.use is not KeyUse.SIGN or entry.owner != header.sender:
            raise _reject(
                RejectReason.UNKNOWN_SENDER_KEY,
                f"signing key {header.sender_key_id[:12]} of {header.sender!r} unknown",
            )
        if entry.status is KeyStatus.REVOKED:
            raise _reject(RejectReason.REVOKED_KEY, f"signing key {entry.key_id[:12]} revoked")
        # 2. signature
        try:
            entry.verifier().verify(
                sealed.signature,
                signed_bytes(
                    sealed.header_bytes, sealed.nonce, sealed.ciphertext, sealed.wrapped_keys
                ),
            )
        except (InvalidSignature, ValueError) as exc:
            raise _reject(
                RejectReason.BAD_SIGNATURE, f"signature by {header.sender} invalid"
            ) from exc
        # 3. version, topic, time window (and the sender key's validity at creation)
        if header.version != ENVELOPE_VERSION:
            raise _reject(RejectReason.UNSUPPORTED_VERSION, f"envelope v{header.version}")
        if header.topic != topic:
            raise _reject(RejectReason.WRONG_TOPIC, f"sealed for {header.topic}, read on {topic}")
        now = self.clock()
        if header.created_at > now + self.max_skew:
            raise _reject(RejectReason.EXPIRED, "created in the future beyond allowed skew")
        if header.expires_at < now:
            raise _reject(RejectReason.EXPIRED, f"expired at {header.expires_at.isoformat()}")
        if not entry.not_before - self.max_skew <= header.created_at <= entry.not_after:
            raise _reject(RejectReason.EXPIRED, "sender key not valid when the message was made")
        # 4. replay (told apart, where the caller says where it consumed the message, from a
        # redelivery of the same record and from the sender's own re-sending)
        if self.seen.seen(header.message_id):
            was = self.seen.seen_as(header.message_id) if position else None
            if was is not None and was.position == position:
                raise Redelivered(header.message_id, position)
            if was is not None and was.digest not in ("", envelope_digest(sealed.signature)):
                raise Resent(header.message_id, position)
            raise _reject(RejectReason.REPLAY, f"message {header.message_id} already processed")
        # 5. own key among recipients
        mine = self._mine(sealed.wrapped_keys, header.recipient_key_ids)
        if not mine and self.refresh():  # sealed to this principal's new key, not yet read
            mine = self._mine(sealed.wrapped_keys, header.recipient_key_ids)
            directory = self.ring.directory
        if not mine:
            raise _reject(RejectReason.NOT_A_RECIPIENT, f"not sealed to {self.ring.principal}")
        kid, blob = mine[0]
        own = directory.get(kid)
        if own is None or own.status is KeyStatus.REVOKED:
            raise _reject(RejectReason.REVOKED_KEY, f"recipient key {kid[:12]} revoked")
        # 6. unwrap
        try:
            data_key = HPKE_SUITE.decrypt(
                blob, self.ring.decryption[kid], info=wrap_info(sealed.header_bytes, kid)
            )
        except (InvalidTag, ValueError) as exc:
            raise _reject(RejectReason.DECRYPT_FAILURE, "data key does not unwrap") from exc
        # 7. key commitment
        if len(data_key) != 32 or not hmac.compare_digest(
            key_commitment(data_key), header.key_commitment
        ):
            raise _reject(RejectReason.KEY_COMMITMENT_MISMATCH, "data key not the committed one")
        # 8. decrypt
        try:
            payload = AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, sealed.header_bytes)
        except (InvalidTag, ValueError) as exc:
            raise _reject(RejectReason.DECRYPT_FAILURE, "payload does not decrypt") from exc
        return OpenedBytes(header, payload, envelope_digest(sealed.signature))

    def _mine(
        self, wrapped: Sequence[tuple[str, bytes]], named: Collection[str]
    ) -> list[tuple[str, bytes]]:
        """The wrapped data keys addressed to a key this principal holds."""
        held = self.ring.decryption
        return [(kid, blob) for kid, blob in wrapped if kid in held and kid in named]

    def remember(self, header: Header, position: str = "", digest: str = "") -> None:
        """Mark a message processed (call once its outputs are durable)."""
        self.seen.remember(header.message_id, header.expires_at, position, digest)

    def remember_all(self, opened: Sequence[Opened]) -> None:
        """Mark several opened messages processed, each with where it was consumed and as
        which envelope, in one transaction when the store can."""
        many = getattr(self.seen, "remember_many", None)
        if many is not None:
            many([(o.header.message_id, o.header.expires_at, o.position, o.digest) for o in opened])
            return
        for one in opened:
            self.remember(one.header, one.position, one.digest)

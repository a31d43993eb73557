"""The one typed error every rejected message raises, with a reason code from mash.RejectReason."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    """Why a message was refused; mirrors the Avro enum mash.RejectReason symbol for symbol."""

    MALFORMED = "MALFORMED"
    UNKNOWN_SENDER_KEY = "UNKNOWN_SENDER_KEY"
    REVOKED_KEY = "REVOKED_KEY"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    WRONG_TOPIC = "WRONG_TOPIC"
    EXPIRED = "EXPIRED"
    REPLAY = "REPLAY"
    NOT_A_RECIPIENT = "NOT_A_RECIPIENT"
    KEY_COMMITMENT_MISMATCH = "KEY_COMMITMENT_MISMATCH"
    DECRYPT_FAILURE = "DECRYPT_FAILURE"
    UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA"
    INVALID_CONTENT = "INVALID_CONTENT"


class MessageRejected(Exception):
    """A message failed to open, decode or validate. ``detail`` never contains payload data."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class AlreadyProcessed(Exception):
    """A verified message this service has processed already, which it skips: not acted on
    twice, and not quarantined, because nothing about it is suspect (see the subclasses)."""

    kind = "already processed"

    def __init__(self, message_id: str, position: str) -> None:
        super().__init__(f"message {message_id} {self.kind} at {position}")
        self.message_id = message_id
        self.position = position


class Redelivered(AlreadyProcessed):
    """The very record, consumed again at the same topic, partition and offset (the service
    stopped or lost the partition after recording the message processed, before committing
    its offset). Its outputs were sent before it was recorded."""

    kind = "redelivered"


class Resent(AlreadyProcessed):
    """The sender's own new sealing of a message already processed (same message id, another
    envelope with a valid signature of the sender's): the sender redid its work after a
    restart and sent its outputs again. Only the sender's key can make such an envelope; a
    copy of the first envelope published again is a REPLAY instead."""

    kind = "re-sent"


class StoreUnavailable(Exception):
    """A database a service keeps its state or log in failed (unreachable, restarting, locked
    by another process, disk full). Not the message's fault: the service rolls back, waits
    and redoes the work since its last commit; nothing is quarantined."""

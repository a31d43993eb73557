"""The tamper-evident disclosure log: append-only, hash-chained, Merkle-checkpointed."""

from hub.disclosure_log.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from hub.disclosure_log.store import AppendOnlyViolation, DisclosureLog
from hub.disclosure_log.verify import VerifyReport, verify_log

__all__ = [
    "AppendOnlyViolation",
    "Checkpoint",
    "DisclosureLog",
    "VerifyReport",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_log",
]

"""Verify a disclosure log: recompute every leaf and the chain, then every checkpoint — those
in the database and those witnessed outside it — and report the first problem found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.disclosure_log.checkpoint import Checkpoint, verify_checkpoint
from hub.disclosure_log.merkle import chain_hash, leaf_hash
from hub.disclosure_log.store import GENESIS, DisclosureLog, canonical


@dataclass
class VerifyReport:
    """The outcome: ok, or the first bad entry (1-based seq) and what is wrong."""

    entries: int = 0
    checkpoints: int = 0
    first_bad_entry: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def verify_log(
    log: DisclosureLog, keys: Sequence[Ed25519PublicKey], witnessed: Sequence[str] = ()
) -> VerifyReport:
    """Check entries, chain and checkpoints; ``keys`` may sign checkpoints (rotation)."""
    report = VerifyReport()
    chain = GENESIS
    for expected_seq, entry in enumerate(log.entries(), start=1):
        report.entries += 1
        problem = None
        if entry.seq != expected_seq:
            problem = f"entry {expected_seq} is missing (next present is {entry.seq})"
        elif canonical(entry.body) != entry.raw or leaf_hash(entry.raw) != entry.leaf:
            problem = f"entry {entry.seq} was modified: its content does not match its hash"
        elif chain_hash(chain, entry.leaf) != entry.chain:
            problem = (
                f"entry {entry.seq} breaks the hash chain (inserted, reordered or a "
                "preceding entry removed)"
            )
        if problem:
            report.problems.append(problem)
            report.first_bad_entry = report.first_bad_entry or min(expected_seq, entry.seq)
            break
        chain = entry.chain
    size = log.size()
    notes = list(dict.fromkeys([*log.checkpoint_notes(), *witnessed]))
    checkpoints = [_signed(note, keys) for note in notes]
    roots = log.roots([c.size for c in checkpoints if c is not None and c.size <= size])
    for checkpoint in checkpoints:
        if checkpoint is None:
            report.problems.append("a checkpoint's signature does not verify")
            continue
        report.checkpoints += 1
        if checkpoint.size > size:
            report.problems.append(
                f"log truncated: checkpoint covers {checkpoint.size} entries but the log has {size}"
            )
            report.first_bad_entry = report.first_bad_entry or size + 1
            continue
        _, root, head = roots[checkpoint.size]
        if root != checkpoint.root or head != checkpoint.chain:
            report.problems.append(
                f"entries 1..{checkpoint.size} differ from the signed "
                f"checkpoint (rewritten history)"
            )
            report.first_bad_entry = report.first_bad_entry or _first_diverging(
                log, checkpoint.size
            )
    return report


def _signed(note: str, keys: Sequence[Ed25519PublicKey]) -> Checkpoint | None:
    """The checkpoint if one of ``keys`` signed it (keys rotate), else None."""
    for key in keys:
        try:
            return verify_checkpoint(note, key)
        except ValueError:
            continue
    return None


def _first_diverging(log: DisclosureLog, size: int) -> int:
    """Best effort: the first entry whose stored chain link is not recomputable."""
    chain = GENESIS
    for entry in log.entries("seq <= ?", (size,)):
        if chain_hash(chain, leaf_hash(entry.raw)) != entry.chain:
            return entry.seq
        chain = entry.chain
    return 1

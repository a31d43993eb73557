"""RFC 6962 / 9162 Merkle tree hashing (Certificate Transparency style)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """The running hash chain: SHA-256(previous || leaf)."""
    return hashlib.sha256(previous + leaf).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of leaf hashes (MTH of RFC 6962 section 2.1)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    # Iterative form equal to the recursive split at the largest power of two below n.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class Frontier:
    """The right edge of a growing RFC 6962 tree: the hashes of its perfect subtrees, largest
    first. Appending and the root are O(log n), so a checkpoint never rereads the whole log."""

    def __init__(self) -> None:
        self.size = 0
        self._nodes: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash, merging equal-sized subtrees like a binary counter."""
        self._nodes.append(leaf)
        self.size += 1
        carry = self.size
        while carry % 2 == 0:
            right, left = self._nodes.pop(), self._nodes.pop()
            self._nodes.append(node_hash(left, right))
            carry //= 2

    def root(self) -> bytes:
        """The Merkle tree hash of every leaf appended so far (equal to ``root(leaves)``)."""
        if not self._nodes:
            return hashlib.sha256(b"").digest()
        acc = self._nodes[-1]
        for node in reversed(self._nodes[:-1]):
            acc = node_hash(node, acc)
        return acc

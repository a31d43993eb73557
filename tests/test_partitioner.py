"""Keyed messages land where aiokafka (and the Java client) would put them."""

from __future__ import annotations

import os
import uuid

from aiokafka.partitioner import DefaultPartitioner

from hub.transport.partitioner import KeyPartitioner


def test_same_partition_as_aiokafka_for_every_key_and_partition_count() -> None:
    """Remembered or not, each key's partition is DefaultPartitioner's, for 1 to 12 partitions."""
    ours, theirs = KeyPartitioner(remembered=100), DefaultPartitioner()
    keys = [str(uuid.uuid4()).encode() for _ in range(300)] + [os.urandom(n) for n in range(40)]
    for count in range(1, 13):
        partitions = list(range(count))
        for key in keys + keys:  # the second pass is answered from memory (or after a clear)
            assert ours(key, partitions, partitions) == theirs(key, partitions, partitions)


def test_a_key_follows_the_partition_count() -> None:
    """A remembered key still maps by the current number of partitions (topics can grow)."""
    ours, theirs = KeyPartitioner(), DefaultPartitioner()
    key = b"8f0e0b7e-2f7a-4f55-9d8e-3c1f9f6c0a11"
    assert ours(key, [0, 1, 2], [0, 1, 2]) == theirs(key, [0, 1, 2], [0, 1, 2])
    assert ours(key, list(range(7)), [0]) == theirs(key, list(range(7)), [0])


def test_no_key_goes_to_an_available_partition() -> None:
    """Without a key, a partition that is available, or any when none is."""
    ours = KeyPartitioner()
    assert {ours(None, [0, 1, 2, 3], [2, 3]) for _ in range(200)} == {2, 3}
    assert ours(None, [5], []) == 5


def test_memory_is_bounded() -> None:
    """However many keys pass, at most ``remembered`` hashes are kept."""
    ours = KeyPartitioner(remembered=10)
    for i in range(95):
        ours(f"key-{i}".encode(), [0, 1], [0, 1])
    assert len(ours._hashes) <= 10

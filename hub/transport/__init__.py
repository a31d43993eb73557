"""The thin I/O layer: a tiny publish/consume interface with Kafka and in-memory implementations."""

from hub.transport.base import Consumed, Publisher
from hub.transport.memory import MemoryBroker

__all__ = ["Consumed", "MemoryBroker", "Publisher"]

"""Typed errors for fetching and running the local broker, each with a message a user can act on."""

from __future__ import annotations


class BrokerError(RuntimeError):
    """Base class: the local broker could not be fetched, started, stopped or reached."""


class ToolMissing(BrokerError):
    """Java or Maven is not installed or too old."""


class FetchFailed(BrokerError):
    """Maven could not resolve the Kafka jars."""


class PortInUse(BrokerError):
    """A port the broker needs is taken by another process."""


class ClusterMismatch(BrokerError):
    """The data folder was formatted for another cluster."""


class StartFailed(BrokerError):
    """The broker process exited or never became ready."""


class NotRunning(BrokerError):
    """An operation needs a running broker and there is none."""

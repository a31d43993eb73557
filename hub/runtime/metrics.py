"""Prometheus metrics of one service: throughput, errors by reason, latency, lag, liveness."""

from __future__ import annotations

from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServiceMetrics:
    """A registry per service instance (so tests can run several in one process)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        # Each labelled child is looked up once (``cache``): the runner counts every message,
        # and prometheus-client's labels() validates and locks on each call.
        self.messages_in = cache(
            Counter(
                "mash_messages_in", "Messages consumed", ["topic"], registry=self.registry
            ).labels
        )
        self.messages_out = cache(
            Counter(
                "mash_messages_out", "Messages published", ["topic"], registry=self.registry
            ).labels
        )
        self.errors = cache(
            Counter(
                "mash_errors",
                "Messages rejected or failed, by reason",
                ["reason"],
                registry=self.registry,
            ).labels
        )
        self.latency = Histogram(
            "mash_processing_seconds",
            "Handling time per message",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
        )
        self.lag = cache(
            Gauge(
                "mash_consumer_lag",
                "Messages behind the end of the partition",
                ["topic", "partition"],
                registry=self.registry,
            ).labels
        )
        self.last_poll = Gauge(
            "mash_last_poll_timestamp_seconds",
            "When the consumer last fetched successfully",
            registry=self.registry,
        )
        self.redelivered = Counter(
            "mash_messages_redelivered",
            "Records processed already, consumed again after a stop or a rebalance (skipped)",
            registry=self.registry,
        )
        self.resent = Counter(
            "mash_messages_resent",
            "Messages processed already, sealed and sent again by their sender after it redid "
            "its work (skipped)",
            registry=self.registry,
        )
        self.retries = Counter(
            "mash_transient_retries", "Transient failures retried", registry=self.registry
        )
        self.store_unavailable = Gauge(
            "mash_store_unavailable",
            "1 while a database the service keeps its state or log in is failing",
            registry=self.registry,
        )
        self.key_expiry = Gauge(
            "mash_key_expiry_timestamp_seconds",
            "When the service's key in use lapses (alert well before: rotate)",
            ["use"],
            registry=self.registry,
        )
        self.key_serial = Gauge(
            "mash_key_directory_serial",
            "Serial of the signed key directory the service uses",
            registry=self.registry,
        )
        self.keys_unusable = Gauge(
            "mash_keys_unusable",
            "1 while the service's own keys are lapsed, revoked or missing (input held)",
            registry=self.registry,
        )
        self.info = Gauge(
            "mash_service_info", "Service identity", list(labels), registry=self.registry
        ).labels(**labels)
        self.info.set(1)

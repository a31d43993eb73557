"""The runner's watch on its keys: every so often the key folder is read (a rotation or a
revocation is taken in without a restart), the key metrics are set, and while the service's own
keys cannot be used its input is held, not sealed into messages every recipient would refuse."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from hub.keys.refresh import KeyRefresher
from hub.runtime.metrics import ServiceMetrics

log = structlog.get_logger(__name__)


class KeyWatch:
    """Reads the key folder every ``interval_s`` and reports what is wrong with own keys."""

    def __init__(self, refresher: KeyRefresher, metrics: ServiceMetrics, interval_s: float):
        self.refresher = refresher
        self.metrics = metrics
        self.interval_s = interval_s
        self.problem: str | None = None
        self._due = 0.0
        self._record()

    def _record(self) -> None:
        """Set the key metrics from the ring as it is now."""
        self.problem = self.refresher.problem()
        ring = self.refresher.ring
        self.metrics.key_serial.set(ring.directory.serial)
        self.metrics.keys_unusable.set(1 if self.problem else 0)
        for use, lapses in self.refresher.expiries().items():
            self.metrics.key_expiry.labels(use).set(lapses.timestamp())

    async def check(self, stopping: asyncio.Event) -> None:
        """When due, take in a changed key folder; while own keys are unusable, wait (looking
        again every interval) until they are, or until the service stops."""
        if time.monotonic() < self._due:
            return
        while True:
            self._due = time.monotonic() + self.interval_s
            self.refresher.refresh()
            self._record()
            if self.problem is None or stopping.is_set():
                return
            log.error("keys_unusable", error=self.problem, retry_in_s=self.interval_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval_s)

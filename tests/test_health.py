"""Liveness notices a consumer that silently stopped fetching."""

from __future__ import annotations

import time

from hub.runtime.health import HealthServer
from hub.runtime.metrics import ServiceMetrics


def test_stalled_consumer_is_not_live() -> None:
    """No successful poll for longer than the limit: /healthz would answer 503."""
    metrics = ServiceMetrics("t")
    health = HealthServer(metrics, lambda: (True, "ok"), stall_s=30)
    metrics.last_poll.set(time.time())
    assert health.live() == (True, "ok")
    metrics.last_poll.set(time.time() - 120)
    live, why = health.live()
    assert not live and "no successful poll for 12" in why

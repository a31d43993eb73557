"""Health (liveness), readiness and metrics over HTTP for ops and orchestrators."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.runtime.metrics import ServiceMetrics


class HealthServer:
    """/healthz: the loop is alive and fetching; /readyz: ready for traffic; /metrics."""

    def __init__(
        self, metrics: ServiceMetrics, ready: Callable[[], tuple[bool, str]], stall_s: float
    ) -> None:
        self.metrics = metrics
        self.ready = ready
        self.stall_s = stall_s
        self.started = time.time()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def live(self) -> tuple[bool, str]:
        """False when the consumer has not fetched for longer than the stall limit."""
        last = self.metrics.last_poll._value.get() or self.started
        idle = time.time() - last
        if idle > self.stall_s:
            return False, f"no successful poll for {idle:.0f}s"
        return True, "ok"

    async def _healthz(self, _: web.Request) -> web.Response:
        ok, why = self.live()
        return web.json_response(
            {"status": "ok" if ok else "fail", "detail": why}, status=200 if ok else 503
        )

    async def _readyz(self, _: web.Request) -> web.Response:
        ok, why = self.ready()
        return web.json_response(
            {"status": "ready" if ok else "not ready", "detail": why}, status=200 if ok else 503
        )

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str, port: int) -> int:
        """Serve on host:port (0 = any free port); returns the port."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = cast(asyncio.Server, site._server)
        self.port = int(server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

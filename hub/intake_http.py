"""The front door over HTTP for front-door systems: POST /referrals (JSON) validates and
publishes a referral sealed to the firewall; POST /referrals/{id}/relevel re-levels it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub.intake import ReferralInvalid, prepare, publish_referral
from hub.keys import KeyRing
from hub.topology import Topology
from hub.transport.base import Publisher

LEVELS = {"NFA", "LEVEL_1", "LEVEL_2", "LEVEL_3"}


def intake_app(ring: KeyRing, topology: Topology, publisher: Publisher) -> web.Application:
    """The aiohttp application (the caller owns the publisher's lifecycle)."""

    async def refer(request: web.Request) -> web.Response:
        try:
            raw: Any = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(raw, dict):
            return web.json_response({"error": "expected a JSON object"}, status=400)
        try:
            referral = prepare(raw)
        except ReferralInvalid as exc:
            return web.json_response(
                {"error": "invalid referral", "problems": str(exc)}, status=422
            )
        referral_id = await publish_referral(referral, ring, topology, publisher)
        return web.json_response(
            {"referral_id": referral_id, "level": referral["level"]}, status=201
        )

    async def relevel(request: web.Request) -> web.Response:
        body: Any = await request.json()
        level, reason = body.get("level"), str(body.get("reason", "")).strip()
        if level not in LEVELS or not reason:
            return web.json_response(
                {"error": "level (NFA, LEVEL_1..3) and reason are required"}, status=422
            )
        record = {
            "referral_id": request.match_info["referral_id"],
            "level": level,
            "reason": reason,
            "decided_by": str(body.get("decided_by", "front door")),
            "at": datetime.now(UTC),
        }
        await publish_referral(record, ring, topology, publisher, "mash.Relevel")
        return web.json_response({"referral_id": record["referral_id"], "level": level}, status=202)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/referrals", refer)
    app.router.add_post("/referrals/{referral_id}/relevel", relevel)
    app.router.add_get("/healthz", healthz)
    return app

"""The duty manager's decisions over HTTP, for case-management systems:
POST /referrals/{id}/decision records a decision (checked as `mash decide` checks it),
GET /referrals/{id}/decisions lists the decisions the hub has confirmed, and
GET /referrals/{id}/corrections and GET /corrections the corrections information governance
sent of what the duty manager received (so a case record can be put right)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.decisions import DecisionInvalid
from hub.dutymanager import Inbox, prepare_decision, publish_decision, sync
from hub.keys import KeyRing
from hub.settings import KafkaSettings
from hub.topology import Topology
from hub.transport.base import Publisher


def _json(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}


def dutymanager_app(
    inbox: Inbox, ring: KeyRing, kafka: KafkaSettings, topology: Topology, publisher: Publisher
) -> web.Application:
    """The aiohttp application (the caller owns the inbox and the publisher)."""

    async def decide(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict) or not body.get("outcome") or not body.get("decided_by"):
            return web.json_response(
                {"error": "outcome, reason and decided_by are required"}, status=422
            )
        await sync(inbox, ring, kafka, topology, idle_ms=300)
        try:
            decision = prepare_decision(
                inbox,
                request.match_info["referral_id"],
                str(body["outcome"]),
                str(body.get("reason") or ""),
                str(body["decided_by"]),
                team=body.get("team"),
                lead_professional=body.get("lead_professional"),
            )
        except DecisionInvalid as exc:
            return web.json_response({"error": str(exc)}, status=422)
        await publish_decision(decision, ring, topology, publisher)
        return web.json_response(
            {k: decision[k] for k in ("decision_id", "referral_id", "outcome")}, status=202
        )

    async def decisions(request: web.Request) -> web.Response:
        await sync(inbox, ring, kafka, topology, idle_ms=300)
        found = inbox.messages("mash.CaseDecision", request.match_info["referral_id"])
        return web.json_response([_json(d) for d in found])

    async def corrections(request: web.Request) -> web.Response:
        await sync(inbox, ring, kafka, topology, idle_ms=300)
        found = inbox.messages("mash.Correction", request.match_info.get("referral_id"))
        return web.json_response([_json(c) for c in found])

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/referrals/{referral_id}/decision", decide)
    app.router.add_get("/referrals/{referral_id}/decisions", decisions)
    app.router.add_get("/referrals/{referral_id}/corrections", corrections)
    app.router.add_get("/corrections", corrections)
    app.router.add_get("/healthz", healthz)
    return app

"""Package assembly (pure): the duty manager's view of one referral, from what the firewall
released, with a chronology across agencies and who answered when."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from hub.ids import name_id

PACKAGE_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680006")


def _chronology(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for finding in findings:
        for subject in finding["subjects"]:
            for item in subject["items"]:
                on = item["fields"].get("recorded_on")
                if item["decision"] == "RELEASED" and on:
                    label = item["category"].split(".", 1)[1].replace("_", " ")
                    detail = ", ".join(
                        f"{k}: {v}"
                        for k, v in sorted(item["fields"].items())
                        if k not in ("recorded_on", "narrative")
                    )
                    entries.append(
                        {
                            "on": date.fromisoformat(on),
                            "agency": finding["agency"],
                            "category": item["category"],
                            "description": f"{subject['role'].lower()}: {label}"
                            + (f" ({detail})" if detail else ""),
                        }
                    )
    return sorted(entries, key=lambda e: (e["on"], e["agency"], e["category"]))


def assemble(
    case: dict[str, Any],
    referral: dict[str, Any],
    findings: list[dict[str, Any]],
    now: datetime,
    addendum: int = 0,
) -> dict[str, Any]:
    """An InformationPackage (or addendum) record."""
    agencies = []
    deadline = datetime.fromisoformat(case["deadline"])
    for agency, req in sorted(case["requests"].items()):
        answered = req.get("answered_at")
        status = (
            "NO_RESPONSE"
            if not answered
            else "ANSWERED_LATE"
            if datetime.fromisoformat(answered) > deadline
            else "ANSWERED"
        )
        agencies.append(
            {
                "agency": agency,
                "requested_at": datetime.fromisoformat(req["issued_at"]),
                "responded_at": datetime.fromisoformat(answered) if answered else None,
                "answer": status,
                "chasers": req.get("chasers", 0),
            }
        )
    return {
        "package_id": name_id(PACKAGE_IDS, f"{referral['referral_id']}:{addendum}"),
        "referral_id": referral["referral_id"],
        "addendum": addendum,
        "level": case["level"],
        "route": case["route"],
        "locality": case.get("locality"),
        "created_at": now,
        "deadline": deadline,
        "deadline_met": now <= deadline,
        "concern": referral["concern"],
        "indicators": referral["indicators"],
        "subjects": referral["subjects"],
        "agencies": agencies,
        "findings": findings,
        "chronology": _chronology(findings),
        "level_history": [
            {**h, "at": datetime.fromisoformat(h["at"])} for h in case["level_history"]
        ],
        "contacts": [
            {**c, "received_at": datetime.fromisoformat(c["received_at"])}
            for c in case.get("contacts", [])
        ],
        "history": [
            {**h, "opened_at": datetime.fromisoformat(h["opened_at"])}
            for h in case.get("history", [])
        ],
    }

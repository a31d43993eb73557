"""Agency-raised concerns as referrals (pure): the adapter turns a concern from its agency's
system into a mash.Referral, triaged with the same Levels of Need rules as the front door.
The referral id derives from the agency and its own reference, so the same incident raised
twice is the same referral."""

from __future__ import annotations

import uuid
from typing import Any

from hub.ids import name_id
from hub.referrals import NEED_BY_LEVEL, RAG_BY_LEVEL
from hub.triage import suggest

CONCERN_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680007")


def referral_id_for(agency: str, source_reference: str) -> str:
    """The referral id of an agency's concern (stable across re-raising)."""
    return name_id(CONCERN_IDS, f"{agency.upper()}:{source_reference}")


def referral_from_concern(agency: str, concern: dict[str, Any]) -> dict[str, Any]:
    """A mash.Referral for one concern raised in ``agency``'s own system."""
    rid = referral_id_for(agency, concern["source_reference"])
    advice = suggest(list(concern["indicators"]), concern["concern"])
    level = advice["suggested_level"]
    matched = ", ".join(advice["matched"]) or "no indicator matched"
    subjects = [
        {
            "subject_id": name_id(CONCERN_IDS, f"{rid}:{i}"),
            "role": s["role"],
            "given_names": s["given_names"],
            "family_name": s["family_name"],
            "other_names": list(s.get("other_names") or []),
            "date_of_birth": s.get("date_of_birth"),
            "gender": s.get("gender"),
            "address": s.get("address"),
            "identifiers": {
                k: (s.get("identifiers") or {}).get(k) for k in ("nhs_number", "upn", "pnc_id")
            },
        }
        for i, s in enumerate(concern["subjects"])
    ]
    return {
        "referral_id": rid,
        "received_at": concern["raised_at"],
        "referrer": {
            "name": concern["raised_by"],
            "organisation": concern["organisation"],
            "role": concern["role"],
            "contact": "",
            "source": agency.upper(),
            "source_reference": concern["source_reference"],
        },
        "concern": concern["concern"],
        "indicators": list(concern["indicators"]),
        "subjects": subjects,
        "consent": {
            "status": concern["consent"]["status"],
            "not_sought_reason": concern["consent"].get("not_sought_reason"),
            "recorded_at": None,
        },
        "level": level,
        "need": NEED_BY_LEVEL[level],
        "rag": RAG_BY_LEVEL[level],
        "locality": None,
        "triage_reason": f"raised by {agency.lower()}: Levels of Need indicators ({matched})",
    }

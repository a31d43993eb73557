"""Business rules for referrals, shared by intake and the firewall (pure functions)."""

from __future__ import annotations

from typing import Any

# The seeds' RAG table: each MASH response level and its Levels of Need column and rating.
NEED_BY_LEVEL = {
    "NFA": "NO_ADDITIONAL_NEEDS",
    "LEVEL_1": "LOW_RISK_TO_VULNERABLE",
    "LEVEL_2": "COMPLEX",
    "LEVEL_3": "ACUTE",
}
RAG_BY_LEVEL = {"NFA": "GREEN", "LEVEL_1": "GREEN", "LEVEL_2": "AMBER", "LEVEL_3": "RED"}

LOCALITY_AREAS = {
    "EAST": (
        "north east",
        "tilbury",
        "chadwell",
        "east tilbury",
        "linford",
        "west tilbury",
        "stanford-le-hope",
        "corringham",
        "horndon",
    ),
    "CENTRAL": ("grays", "stifford", "chafford hundred", "little thurrock", "badgers dene"),
    "WEST": ("ockendon", "belhus", "aveley", "west thurrock", "south stifford", "purfleet"),
}


def problems(referral: dict[str, Any]) -> list[str]:
    """What makes a referral invalid (empty when it is fine); messages never quote content."""
    found: list[str] = []
    subjects = referral.get("subjects") or []
    if not any(s.get("role") == "CHILD" for s in subjects):
        found.append("subjects: at least one subject must have role CHILD")
    ids = [s.get("subject_id") for s in subjects]
    if len(ids) != len(set(ids)) or not all(ids):
        found.append("subjects: subject_id must be present and unique")
    consent = referral.get("consent") or {}
    if consent.get("status") == "NOT_SOUGHT" and not consent.get("not_sought_reason"):
        found.append(
            "consent.not_sought_reason: required when consent was not sought "
            "(DPA 2018 Sch 1 para 18(2))"
        )
    if consent.get("status") != "NOT_SOUGHT" and consent.get("not_sought_reason"):
        found.append("consent.not_sought_reason: only for status NOT_SOUGHT")
    if not str(referral.get("concern", "")).strip():
        found.append("concern: the concern narrative is empty")
    if referral.get("level") == "LEVEL_1" and locality_of(referral) is None:
        found.append(
            "locality: Level 1 needs the child's Locality Team (EAST, CENTRAL, WEST) "
            "or an address in Thurrock that identifies it"
        )
    return found


def locality_of(referral: dict[str, Any]) -> str | None:
    """The Locality Team: as recorded, else from the first child's town."""
    if referral.get("locality"):
        return str(referral["locality"])
    for subject in referral.get("subjects") or []:
        if subject.get("role") != "CHILD" or not subject.get("address"):
            continue
        place = " ".join(
            [*subject["address"].get("lines", []), subject["address"].get("town", "")]
        ).lower()
        for team, areas in LOCALITY_AREAS.items():
            if any(area in place for area in areas):
                return team
    return None

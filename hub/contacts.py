"""Contacts (pure): every concern raised about a child is a contact; an agency's contact about
a child who already has an undecided referral opened within the link window joins that
referral instead of opening another, so the duty manager sees them together."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub.disclosure_log.pseudonym import subject_pseudonyms

LEVEL_ORDER = ("NFA", "LEVEL_1", "LEVEL_2", "LEVEL_3")
DEFAULT_LINK_WINDOW = timedelta(hours=72)
AGENCY_CHANNELS = ("police", "health", "education", "housing")


def contact_of(referral: dict[str, Any], contact_id: str, channel: str) -> dict[str, Any]:
    """The mash.Contact a referral message carries (its concern, source and level)."""
    referrer = referral["referrer"]
    return {
        "contact_id": contact_id,
        "received_at": referral["received_at"],
        "source": referrer["source"],
        "channel": channel,
        "organisation": referrer.get("organisation") or "",
        "source_reference": referrer.get("source_reference"),
        "level": referral["level"],
        "concern": referral["concern"],
    }


def to_state(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact as JSON-ready state (times as ISO text)."""
    return {**contact, "received_at": contact["received_at"].isoformat()}


def from_state(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact from state, ready for Avro."""
    return {**contact, "received_at": datetime.fromisoformat(contact["received_at"])}


def child_pseudonyms(
    key: bytes, referral: dict[str, Any], known: dict[str, list[str]] | None = None
) -> list[str]:
    """Pseudonyms of the referral's children (role CHILD), the keys for linking (``known``:
    pseudonyms already made with ``key``, by subject id, so they are not made twice)."""
    known = known or {}
    return sorted(
        {
            p
            for s in referral["subjects"]
            if s["role"] == "CHILD"
            for p in known.get(s["subject_id"]) or subject_pseudonyms(key, s)
        }
    )


def higher(level: str, than: str) -> bool:
    """Whether ``level`` is a higher response level than ``than``."""
    return LEVEL_ORDER.index(level) > LEVEL_ORDER.index(than)

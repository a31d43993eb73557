"""Information governance's own entries: a correction of something disclosed (UK GDPR Art 16,
with the recipients to be told under Art 19) and an erasure of a referral's information (end of
retention, an upheld request, a court order). Pure functions building entries; no I/O."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

CORRECTION_KINDS = ("wrong-person", "inaccurate", "incomplete", "out-of-date")
ERASURE_GROUNDS = ("retention-ended", "erasure-request-upheld", "court-order", "recorded-in-error")
DISCLOSED = ("RELEASED", "SUMMARISED", "EXISTENCE_ONLY")
_COPIED = (
    "correlation_id",
    "agency",
    "data_category",
    "record_id",
    "level",
    "route",
    "purpose",
    "recipients",
    "onward_conditions",
    "response_message_id",
    "subject_pseudonyms",
    "subject_role",
    "lawful_basis",
    "policy_version",
    "retention_class",
)


class GovernanceRefused(ValueError):
    """An IG operation that would record something untrue or meaningless."""


def _actor(principal: str, key_id: str | None, by: str) -> dict[str, Any]:
    if not by.strip():
        raise GovernanceRefused("name the person who decided (--by)")
    return {"principal": principal, "key_id": key_id, "decided_by": by.strip()}


def correction_entry(
    original: Mapping[str, Any],
    *,
    kind: str,
    reason: str,
    by: str,
    principal: str,
    key_id: str | None,
    at: datetime,
) -> dict[str, Any]:
    """A ``correct`` entry for one earlier disclosure: what was wrong, who decided, and the
    recipients who must be told. Its id derives from the original, kind and reason, so the same
    correction recorded twice adds one entry."""
    if kind not in CORRECTION_KINDS:
        raise GovernanceRefused(f"kind must be one of {', '.join(CORRECTION_KINDS)}")
    if original.get("operation") in ("correct", "erase"):
        raise GovernanceRefused(
            f"entry {original['entry_id']} is itself an IG {original['operation']}; "
            "correct the disclosure it concerns"
        )
    if original.get("decision") not in DISCLOSED:
        what = original.get("decision") or original.get("operation")
        raise GovernanceRefused(
            f"entry {original['entry_id']} disclosed nothing ({what}); there is nothing to correct"
        )
    if not reason.strip():
        raise GovernanceRefused("give the reason for the correction (--reason)")
    digest = hashlib.sha256(f"{original['entry_id']}\n{kind}\n{reason.strip()}".encode())
    entry = {k: original.get(k) for k in _COPIED}
    entry.update(
        {
            "entry_id": f"correct-{digest.hexdigest()[:32]}",
            "at": at.isoformat(),
            "operation": "correct",
            "decision": None,
            "corrects": original["entry_id"],
            "correction": kind,
            "reason": reason.strip(),
            "actor": _actor(principal, key_id, by),
            "personal_data_breach": kind == "wrong-person",
        }
    )
    return entry


def erasure_entry(
    referral_entries: Sequence[Mapping[str, Any]],
    *,
    ground: str,
    reason: str,
    by: str,
    principal: str,
    key_id: str | None,
    at: datetime,
    erased: Mapping[str, int],
    retention_ends: str | None,
) -> dict[str, Any]:
    """An ``erase`` entry: which stores lost how many rows of one referral, on what ground and
    by whose decision. The log itself keeps its pseudonymised entries (it holds no personal
    data in clear), so a subject access search still finds the erasure."""
    if ground not in ERASURE_GROUNDS:
        raise GovernanceRefused(f"ground must be one of {', '.join(ERASURE_GROUNDS)}")
    if not referral_entries:
        raise GovernanceRefused("the disclosure log has no entries for this referral")
    if not reason.strip():
        raise GovernanceRefused("give the reason for the erasure (--reason)")
    last = referral_entries[-1]
    pseudonyms = sorted({p for e in referral_entries for p in e.get("subject_pseudonyms") or ()})
    return {
        "entry_id": f"erase-{uuid.uuid4().hex}",
        "correlation_id": last["correlation_id"],
        "at": at.isoformat(),
        "operation": "erase",
        "decision": None,
        "ground": ground,
        "reason": reason.strip(),
        "actor": _actor(principal, key_id, by),
        "erased": dict(sorted(erased.items())),
        "retention_ends": retention_ends,
        "retention_class": last.get("retention_class"),
        "level": last.get("level"),
        "subject_pseudonyms": pseudonyms,
    }

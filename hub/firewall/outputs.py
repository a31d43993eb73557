"""What the firewall sends about a referral: an information request to each agency the level
needs (each on the agency's own topic), the case opened for the collator and, at Level 3, the
immediate notification to police and social care. Pure builders: no state, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hub import contacts as contact_rules
from hub.ids import name_id
from hub.policy.engine import ReferralContext
from hub.policy.model import Policy
from hub.referrals import locality_of
from hub.runtime.service import Outgoing

REQUEST_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680004")
LEVEL3_RECIPIENTS = ("police", "dutymanager")
HISTORY_WINDOW = timedelta(days=365)  # earlier referrals about the same children in a package
HISTORY_MAX = 10
HISTORY_FIELDS = ["referral_id", "opened_at", "level", "outcome", "contacts"]


def iso(value: datetime) -> str:
    """A time as the firewall's state keeps it (UTC, ISO 8601)."""
    return value.astimezone(UTC).isoformat()


def dt(value: str) -> datetime:
    """A time the firewall's state keeps, read back."""
    return datetime.fromisoformat(value)


def requests_for(
    policy: Policy,
    referral: dict[str, Any],
    level: str,
    now: datetime,
    due: datetime | None,
    chaser: int = 0,
    only: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """The information requests the level's policy sends (to ``only`` these agencies, if
    given), with ids derived from referral, agency, level and chaser number."""
    level_policy = policy.levels[level]
    basis = level_policy.lawful_basis.model_dump() if level_policy.lawful_basis else None
    out = []
    for agency in level_policy.agencies:
        if only is not None and agency not in only:
            continue
        rid = name_id(REQUEST_IDS, f"{referral['referral_id']}:{agency}:{level}:{chaser}")
        out.append(
            {
                "request_id": rid,
                "referral_id": referral["referral_id"],
                "agency": agency,
                "level": level,
                "purpose": level_policy.purpose,
                "lawful_basis": basis,
                "issued_at": now,
                "deadline": due or now,
                "subjects": referral["subjects"],
                "chaser": chaser,
            }
        )
    return out


def request_outputs(requests: list[dict[str, Any]], referral_id: str) -> list[Outgoing]:
    """Each request sealed to its agency on the agency's own topic."""
    return [
        Outgoing(
            f"mash.requests.{r['agency'].lower()}",
            "mash.InformationRequest",
            r,
            (r["agency"].lower(),),
            referral_id,
        )
        for r in requests
    ]


def case_opened(
    policy: Policy, referral: dict[str, Any], state: dict[str, Any], now: datetime
) -> Outgoing:
    """The case as it now stands (level, deadline, requests, contacts), for the collator."""
    level = state["level"]
    record = {
        "referral": {**referral, "level": level, "locality": locality_of(referral)},
        "route": policy.levels[level].route,
        "deadline": dt(state["deadline"]) if state.get("deadline") else now,
        "requests": [
            {
                "request_id": r["request_id"],
                "agency": a,
                "issued_at": dt(r["issued_at"]),
                "deadline": dt(r["deadline"]),
            }
            for a, r in sorted(state["requests"].items())
        ],
        "policy_version": policy.digest,
        "opened_at": dt(state["opened_at"]),
        "level_history": [{**h, "at": dt(h["at"])} for h in state["level_history"]],
        "contacts": [contact_rules.from_state(c) for c in state.get("contacts", [])],
        "history": [{**h, "opened_at": dt(h["opened_at"])} for h in state.get("history", [])],
    }
    return Outgoing(
        "mash.disclosures", "mash.CaseOpened", record, ("collator",), referral["referral_id"]
    )


def notification(policy: Policy, referral: dict[str, Any], now: datetime) -> Outgoing:
    """The Level 3 notification: police and social care, at once; the package follows."""
    record = {
        "notification_id": name_id(REQUEST_IDS, f"{referral['referral_id']}:notify"),
        "referral_id": referral["referral_id"],
        "level": "LEVEL_3",
        "created_at": now,
        "recipients": list(LEVEL3_RECIPIENTS),
        "route": policy.levels["LEVEL_3"].route,
        "message": "Level 3 referral: s47 strategy discussion needed now; "
        "MASH information package to follow.",
    }
    return Outgoing(
        "mash.notifications",
        "mash.Notification",
        record,
        LEVEL3_RECIPIENTS,
        referral["referral_id"],
    )


def policy_context(referral: dict[str, Any], state: dict[str, Any]) -> ReferralContext:
    """What the policy engine needs to know about a referral at its current level."""
    consent = referral["consent"]
    return ReferralContext(
        referral["referral_id"],
        state["level"],
        consent["status"],
        consent.get("not_sought_reason"),
        {s["subject_id"]: s["role"] for s in referral["subjects"]},
    )


def history_disclosure(history: list[dict[str, Any]], children: list[str]) -> dict[str, Any]:
    """What the log records of telling the MASH about earlier referrals (its own records,
    disclosed to the collator for the package)."""
    return {
        "decision": "RELEASED",
        "data_category": "mash.history",
        "recipients": ["collator"],
        "rule_id": "mash-history",
        "reason": f"{len(history)} earlier MASH referral(s) about the same children in the last "
        f"{HISTORY_WINDOW.days} days: repeated referrals are a sign of cumulative harm",
        "subject_pseudonyms": children,
        "fields_disclosed": HISTORY_FIELDS,
        "prior_referrals": [h["referral_id"] for h in history],
    }

"""Disclosure-log entries, built as plain dicts (pure): no personal data in clear — subjects
appear as keyed pseudonyms, and only field names, rule ids and reasons are recorded."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.ids import custom_id
from hub.policy.engine import ItemDecision
from hub.policy.model import Policy

ENTRY_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680003")
OPERATION = {
    "RELEASED": "disclose",
    "EXISTENCE_ONLY": "disclose",
    "SUMMARISED": "summarise",
    "WITHHELD": "withhold",
}
RETENTION = {
    "LEVEL_3": "s47-until-25th-birthday-of-youngest-child",
    "LEVEL_2": "s17-until-25th-birthday-of-youngest-child",
    "LEVEL_1": "early-help-6-years",
    "NFA": "contact-2-years",
}


def entry_id(origin: str, index: int) -> str:
    """Deterministic id: a redelivered message yields the same entries (appended once). A
    UUID (version 8) whose first half comes from the originating message alone, so the ~12
    entries of one response sit side by side in the log's unique index: a commit touches one
    index page per message instead of one per entry (half the cost of an append)."""
    head = hashlib.sha256(ENTRY_IDS.bytes + origin.encode()).digest()[:8]
    tail = hashlib.sha256(ENTRY_IDS.bytes + f"{origin}:{index}".encode()).digest()[:8]
    return custom_id(head + tail)  # version 8: custom, RFC 9562


def base_entry(
    *,
    origin: str,
    index: int,
    referral_id: str,
    at: datetime,
    operation: str,
    actor: str,
    actor_key_id: str,
    policy: Policy,
    level: str,
    state: dict[str, Any],
    referral: dict[str, Any],
) -> dict[str, Any]:
    """Fields every entry of one referral shares."""
    level_policy = policy.levels[level]
    basis = level_policy.lawful_basis.model_dump() if level_policy.lawful_basis else None
    consent = referral["consent"]
    return {
        "entry_id": entry_id(origin, index),
        "correlation_id": referral_id,
        "at": at.isoformat(),
        "operation": operation,
        "actor": {"principal": actor, "key_id": actor_key_id},
        "level": level,
        "route": level_policy.route,
        "purpose": level_policy.purpose,
        "deadline": state.get("deadline"),
        "deadline_met": None,
        "lawful_basis": basis,
        "consent_status": consent["status"],
        "consent_reason": consent.get("not_sought_reason"),
        "policy_version": policy.digest,
        "retention_class": RETENTION[level],
    }


def decision_entries(
    decisions: Sequence[ItemDecision],
    *,
    origin: str,
    start: int,
    common: dict[str, Any],
    pseudonyms: dict[str, list[str]],
    agency: str,
    response_message_id: str,
    response_sha256: str,
    request_message_id: str | None,
    recipients: Sequence[str],
) -> list[dict[str, Any]]:
    """One entry per decision: released, summarised, existence only or withheld."""
    entries = []
    for i, d in enumerate(decisions):
        entries.append(
            {
                **common,
                "entry_id": entry_id(origin, start + i),
                "operation": OPERATION[d.decision],
                "decision": d.decision,
                "request_message_id": request_message_id,
                "response_message_id": response_message_id,
                "response_sha256": response_sha256,
                "recipients": list(recipients),
                "onward_conditions": "MASH use only; onward disclosure under the dissemination "
                "rules of the policy",
                "subject_pseudonyms": pseudonyms.get(d.subject_id, []),
                "subject_role": d.role,
                "identifier_types": list(d.identifier_types),
                "match_method": d.match_method,
                "match_confidence": d.match_confidence,
                "agency": agency,
                "data_category": d.category,
                "record_id": d.record_id,
                "fields_disclosed": list(d.fields_released),
                "fields_withheld": dict(sorted(d.fields_withheld.items())),
                "rule_id": d.rule_id,
                "reason": d.reason,
            }
        )
    return entries


def response_entries(
    decisions: Sequence[ItemDecision],
    *,
    origin: str,
    common: dict[str, Any],
    state: dict[str, Any],
    agency: str,
    response: tuple[str, str],
    recipients: Sequence[str],
) -> list[dict[str, Any]]:
    """``decision_entries`` for one agency's response (``response``: its message id and
    SHA-256) about a referral whose firewall state is ``state``: its subjects' pseudonyms
    and the request the response answers."""
    request = state["requests"].get(agency, {})
    return decision_entries(
        decisions,
        origin=origin,
        start=0,
        common=common,
        pseudonyms=state["pseudonyms"],
        agency=agency,
        response_message_id=response[0],
        response_sha256=response[1],
        request_message_id=request.get("message_id"),
        recipients=recipients,
    )

"""The firewall's part in the duty manager's decision: one information product per recipient
team, what the policy released at the referral's level narrowed by that team's rules, every
item logged. Pure: the handler reads the stored responses and writes the log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub import decisions as decision_rules
from hub.firewall.entries import response_entries
from hub.firewall.outputs import dt, policy_context
from hub.policy.engine import apply_policy
from hub.policy.model import Policy
from hub.policy.recipients import restrict
from hub.runtime.service import Outgoing


def package_complete(state: dict[str, Any], now: datetime) -> bool:
    """The collator's rule: every agency answered, or the deadline has come."""
    if all(r.get("answered_at") for r in state["requests"].values()):
        return True
    return state.get("deadline") is not None and now >= dt(state["deadline"])


def product(
    policy: Policy,
    responses: list[dict[str, Any]],
    referral: dict[str, Any],
    state: dict[str, Any],
    decision: dict[str, Any],
    recipient: str,
    origin: str,
    now: datetime,
    common: dict[str, Any],
) -> tuple[Outgoing, list[dict[str, Any]]]:
    """The information product for one recipient from the referral's stored ``responses``,
    and its log entries (each built on ``common``, the firewall's base entry)."""
    findings: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for response in responses:
        narrowed = restrict(
            policy, recipient, apply_policy(policy, policy_context(referral, state), response, now)
        )
        findings.append(narrowed.record)
        entries += response_entries(
            narrowed.decisions,
            origin=f"{origin}:{recipient}:{response['response_id']}",
            common=common,
            state=state,
            agency=response["agency"],
            response=(response["response_id"], ""),
            recipients=(recipient,),
        )
    record = {
        "product_id": decision_rules.product_id(decision["decision_id"], recipient),
        "referral_id": referral["referral_id"],
        "recipient": recipient,
        "outcome": decision["outcome"],
        "reason": decision["reason"],
        "team": decision.get("team"),
        "lead_professional": decision.get("lead_professional"),
        "level": state["level"],
        "decided_by": decision["decided_by"],
        "created_at": now,
        "concern": referral["concern"],
        "subjects": referral["subjects"],
        "findings": findings,
        "policy_version": policy.digest,
    }
    out = Outgoing(
        f"mash.products.{recipient}",
        "mash.InformationProduct",
        record,
        (policy.recipients[recipient].principal,),
        referral["referral_id"],
    )
    return out, entries

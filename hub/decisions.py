"""Duty manager decisions (pure): which outcomes exist, when a decision may be taken, who
receives the information product, and what the referrer is told. No I/O, no Kafka."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.ids import name_id

FEEDBACK_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680008")
PRODUCT_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680009")

# CLI spelling -> Avro symbol.
OUTCOMES = {
    "nfa-advice": "NFA_ADVICE",
    "locality-early-help": "LOCALITY_EARLY_HELP",
    "s17-assessment": "S17_ASSESSMENT",
    "s47-strategy": "S47_STRATEGY",
    "step-down": "STEP_DOWN",
}
SOCIAL_CARE = ("S17_ASSESSMENT", "S47_STRATEGY")
LABELS = {
    "NFA_ADVICE": "no further action by children's social care; advice given",
    "LOCALITY_EARLY_HELP": "referred to the Locality Team for early help",
    "S17_ASSESSMENT": "accepted for a child in need assessment (Children Act 1989 s17)",
    "S47_STRATEGY": "strategy discussion under Children Act 1989 s47",
    "STEP_DOWN": "stepped down from social care to the Locality Team",
}
NFA_ADVICE = (
    "The concern did not meet the threshold for children's social care (Levels of Need: "
    "no additional or low needs). Please keep supporting the family through universal "
    "services; if you think the family would benefit from early help, talk to them about it "
    "and contact the Locality Team for their area (East: North East, Tilbury, Chadwell; "
    "Central: Grays, Stifford, Chafford Hundred; West: Ockendon, Belhus, Aveley, West "
    "Thurrock, South Stifford). If the child's circumstances change or you believe a child "
    "is at risk of significant harm, refer again at once; in an emergency call 999."
)


class DecisionInvalid(ValueError):
    """The decision cannot be recorded; the message says why (never quotes case content)."""


@dataclass(frozen=True)
class DecisionContext:
    """What the firewall knows about a referral when a decision arrives."""

    level: str
    package_complete: bool
    locality: str | None
    prior_outcomes: tuple[str, ...]


def recipients_for(outcome: str, team: str | None) -> tuple[str, ...]:
    """The policy recipients of the information product for an outcome."""
    if outcome in ("LOCALITY_EARLY_HELP", "STEP_DOWN"):
        assert team is not None
        return (f"locality-{team.lower()}",)
    if outcome == "S17_ASSESSMENT":
        return ("social-care-assessment",)
    if outcome == "S47_STRATEGY":
        return ("social-care-assessment", "police-strategy")
    return ()


def check(decision: dict[str, Any], ctx: DecisionContext) -> dict[str, Any]:
    """The decision as it will be recorded (team filled in, early decisions marked), or
    DecisionInvalid."""
    outcome = decision["outcome"]
    if not str(decision.get("reason") or "").strip():
        raise DecisionInvalid("a decision needs its reason")
    if not str(decision.get("decided_by") or "").strip():
        raise DecisionInvalid("a decision needs who decided")
    team = decision.get("team")
    if outcome == "STEP_DOWN":
        if not any(o in SOCIAL_CARE for o in ctx.prior_outcomes):
            raise DecisionInvalid(
                "only a case progressed by social care (s17 or s47) can be stepped down"
            )
        if team is None or not str(decision.get("lead_professional") or "").strip():
            raise DecisionInvalid("a step-down needs the locality team and a lead professional")
    elif outcome == "LOCALITY_EARLY_HELP":
        team = team or ctx.locality
        if team is None:
            raise DecisionInvalid(
                "early help needs the locality team (--team east|central|west): "
                "the child's address does not identify one"
            )
    elif decision.get("lead_professional"):
        raise DecisionInvalid("a lead professional is recorded on a step-down only")
    early = not ctx.package_complete and outcome != "STEP_DOWN"
    if early and ctx.level != "LEVEL_3":
        raise DecisionInvalid(
            f"the package is not complete yet: a decision before it is allowed at Level 3 only "
            f"(this referral is {ctx.level})"
        )
    return {
        **decision,
        "team": team if outcome in ("LOCALITY_EARLY_HELP", "STEP_DOWN") else None,
        "before_package": early,
        "recipients": list(recipients_for(outcome, team)),
    }


def feedback(decision: dict[str, Any], contact: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What one referrer is told: the outcome and, for no further action, threshold advice.
    Deliberately nothing from the package, the findings or the decision's reason."""
    outcome = decision["outcome"]
    team = decision.get("team")
    message = (
        f"Your referral ({contact.get('source_reference') or 'front door'}): " + LABELS[outcome]
    )
    if team:
        message += f" ({team.title()})"
    return {
        "feedback_id": name_id(FEEDBACK_IDS, f"{decision['decision_id']}:{contact['contact_id']}"),
        "referral_id": decision["referral_id"],
        "contact_id": contact["contact_id"],
        "source_reference": contact.get("source_reference"),
        "outcome": outcome,
        "team": team,
        "decided_at": decision["decided_at"] if decision.get("decided_at") else now,
        "message": message + ".",
        "advice": NFA_ADVICE if outcome == "NFA_ADVICE" else "",
    }


def feedback_route(contact: dict[str, Any]) -> tuple[str, str]:
    """(logical topic, principal) that carries feedback to a contact's referrer."""
    channel = contact.get("channel") or "intake"
    if channel in ("police", "health", "education", "housing"):
        return f"mash.feedback.{channel}", channel
    return "mash.feedback.intake", "intake"


def product_id(decision_id: str, recipient: str) -> str:
    """Deterministic id of the product one decision sends to one recipient."""
    return name_id(PRODUCT_IDS, f"{decision_id}:{recipient}")

"""The disclosure engine: a pure function from (referral context, agency response, policy) to
what may be shown, with one decision per item — released, summarised, existence only or
withheld — each naming the rule that made it and why. No I/O, no Kafka."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hub.ids import name_id
from hub.policy.categories import AGENCIES, categories
from hub.policy.model import CONFIDENCES, Action, Policy, Rule
from hub.policy.render import render

DISCLOSURE_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680002")
PROTECTION_RULE = "third-party-protection"


class PolicyInputError(ValueError):
    """The response cannot be assessed (e.g. it names a subject not in the referral)."""


@dataclass(frozen=True)
class ReferralContext:
    """What the firewall knows about a referral when a response arrives."""

    referral_id: str
    level: str
    consent_status: str
    consent_not_sought_reason: str | None
    roles: dict[str, str]  # subject_id -> role


@dataclass(frozen=True)
class ItemDecision:
    """One decision, as the disclosure log records it."""

    subject_id: str
    role: str
    category: str
    record_id: str | None
    decision: str
    rule_id: str
    reason: str
    match_method: str
    match_confidence: str
    identifier_types: tuple[str, ...]
    fields_released: tuple[str, ...] = ()
    fields_withheld: dict[str, str] = field(default_factory=dict)  # field -> rule id


@dataclass(frozen=True)
class Disclosure:
    """The DisclosedInformation record and every decision behind it."""

    record: dict[str, Any]
    decisions: list[ItemDecision]


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    dates = sorted(r["recorded_on"] for r in records if r.get("recorded_on") is not None)
    return {
        "count": len(records),
        "first_on": dates[0] if dates else None,
        "last_on": dates[-1] if dates else None,
    }


def _consent_ok(policy: Policy, ctx: ReferralContext) -> bool:
    rule = policy.levels[ctx.level].consent
    if not rule.required or ctx.consent_status == "GIVEN":
        return True
    return (
        ctx.consent_status == "NOT_SOUGHT"
        and rule.accept_not_sought_with_reason
        and ctx.consent_not_sought_reason is not None
    )


class _Subject:
    """Builds the items and decisions of one subject."""

    def __init__(
        self, policy: Policy, ctx: ReferralContext, finding: dict[str, Any], role: str
    ) -> None:
        self.policy, self.ctx, self.finding, self.role = policy, ctx, finding, role
        self.items: list[dict[str, Any]] = []
        self.decisions: list[ItemDecision] = []
        match = finding["match"]
        self.match = match

    def add(
        self,
        category: str,
        decision: str,
        rule_id: str,
        reason: str,
        *,
        record_id: str | None = None,
        fields: dict[str, str] | None = None,
        withheld: dict[str, str] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        withheld = withheld or {}
        self.items.append(
            {
                "category": category,
                "record_id": record_id,
                "decision": decision,
                "rule_id": rule_id,
                "reason": reason,
                "fields": fields or {},
                "withheld_fields": sorted(withheld),
                "summary": summary,
            }
        )
        self.decisions.append(
            ItemDecision(
                subject_id=self.finding["subject_id"],
                role=self.role,
                category=category,
                record_id=record_id,
                decision=decision,
                rule_id=rule_id,
                reason=reason,
                match_method=self.match["method"],
                match_confidence=self.match["confidence"],
                identifier_types=tuple(self.match.get("identifier_types", ())),
                fields_released=tuple(sorted(fields or {})),
                fields_withheld=dict(withheld),
            )
        )

    def release(
        self, category: str, rule: Rule, records: list[dict[str, Any]], cutoff: date
    ) -> None:
        old = [r for r in records if r.get("recorded_on") and r["recorded_on"] < cutoff]
        recent = [r for r in records if r not in old]
        if old:
            self.add(
                category,
                "SUMMARISED",
                "recency",
                f"older than the {self.policy.levels[self.ctx.level].recency_years}-year "
                "window: counts and dates only",
                summary=_summary(old),
            )
        protected = self.policy.protected_fields.get(category, ())
        for record in recent:
            if (
                category == "police.intelligence"
                and record.get("handling_code") in self.policy.restricted_handling_codes
            ):
                self.add(
                    category,
                    "EXISTENCE_ONLY",
                    "handling-code",
                    f"handling code {record['handling_code']}: no onward disclosure "
                    "without the originator",
                    record_id=record["record_id"],
                )
                continue
            fields: dict[str, str] = {}
            withheld: dict[str, str] = {}
            for name, value in record.items():
                if name == "record_id":
                    continue
                text = render(value)
                if name in protected:
                    if text is not None:
                        withheld[name] = PROTECTION_RULE
                elif name in rule.withhold_fields:
                    if text is not None:
                        withheld[name] = rule.id
                elif text is not None:
                    fields[name] = text
            self.add(
                category,
                "RELEASED",
                rule.id,
                rule.reason or "released under the policy",
                record_id=record["record_id"],
                fields=fields,
                withheld=withheld,
            )


def apply_policy(
    policy: Policy, ctx: ReferralContext, response: dict[str, Any], now: datetime
) -> Disclosure:
    """Decide every record of ``response`` for ``ctx`` under ``policy``."""
    if response["agency"] not in AGENCIES:
        raise PolicyInputError(f"unknown agency {response['agency']!r}")
    level_policy = policy.levels[ctx.level]
    cutoff = now.date() - timedelta(days=int(365.25 * level_policy.recency_years))
    detail_rank = CONFIDENCES.index(policy.detail_requires)
    subjects_out: list[dict[str, Any]] = []
    decisions: list[ItemDecision] = []
    consent_ok = _consent_ok(policy, ctx)
    for finding in response["subjects"]:
        role = ctx.roles.get(finding["subject_id"])
        if role is None:
            raise PolicyInputError("response names a subject that is not in the referral")
        subject = _Subject(policy, ctx, finding, role)
        confidence = finding["match"]["confidence"]
        bundle = finding.get("records") or {}
        verify = confidence != "NO_MATCH" and CONFIDENCES.index(confidence) > detail_rank
        for category in categories()[response["agency"]]:
            records = bundle.get(category.split(".", 1)[1]) or []
            if not records or confidence == "NO_MATCH":
                continue
            if verify:
                subject.add(
                    category,
                    "EXISTENCE_ONLY",
                    "match-confidence",
                    f"{confidence.lower()} match: possible match, verify before release",
                )
            elif not consent_ok:
                subject.add(
                    category,
                    "WITHHELD",
                    "consent",
                    f"{ctx.level} needs consent; status {ctx.consent_status}",
                )
            elif (rule := policy.rule_for(ctx.level, category, role)) is None:
                subject.add(
                    category,
                    "WITHHELD",
                    "default-withhold",
                    "no rule releases this category at this level",
                )
            elif rule.action is Action.WITHHOLD:
                subject.add(category, "WITHHELD", rule.id, rule.reason or "withheld")
            elif rule.action is Action.EXISTENCE_ONLY:
                subject.add(category, "EXISTENCE_ONLY", rule.id, rule.reason or "known to agency")
            elif rule.action is Action.SUMMARY:
                subject.add(
                    category,
                    "SUMMARISED",
                    rule.id,
                    rule.reason or "counts and dates",
                    summary=_summary(records),
                )
            else:
                subject.release(category, rule, records, cutoff)
        subjects_out.append(
            {
                "subject_id": finding["subject_id"],
                "role": role,
                "match": finding["match"],
                "verify_match": verify,
                "items": subject.items,
            }
        )
        decisions.extend(subject.decisions)
    record = {
        "disclosure_id": name_id(DISCLOSURE_IDS, f"{response['response_id']}:{ctx.level}"),
        "referral_id": ctx.referral_id,
        "response_id": response["response_id"],
        "agency": response["agency"],
        "level": ctx.level,
        "policy_version": policy.digest,
        "disclosed_at": now,
        "subjects": subjects_out,
    }
    return Disclosure(record, decisions)

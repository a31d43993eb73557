"""Per-recipient dissemination rules (pure): narrow what the policy released for the MASH to
what one recipient team may receive — e.g. a locality team never gets police intelligence or
any narrative. Every item stays accounted for: what a recipient may not have is withheld with
the rule ``recipient:<name>``, never silently dropped."""

from __future__ import annotations

import dataclasses
from typing import Any

from hub.ids import name_id
from hub.policy.engine import DISCLOSURE_IDS, Disclosure, ItemDecision
from hub.policy.model import Policy


class UnknownRecipient(ValueError):
    """The policy has no recipient of that name."""


def restrict(policy: Policy, name: str, disclosure: Disclosure) -> Disclosure:
    """``disclosure`` narrowed for recipient ``name`` under the policy's recipient rules."""
    recipient = policy.recipients.get(name)
    if recipient is None:
        raise UnknownRecipient(f"the policy has no recipient {name!r}")
    rule = f"recipient:{name}"
    never_fields = set(recipient.never_fields)
    decisions = iter(disclosure.decisions)
    subjects_out: list[dict[str, Any]] = []
    decisions_out: list[ItemDecision] = []
    for subject in disclosure.record["subjects"]:
        items = []
        for item in subject["items"]:
            decision = next(decisions)
            fields: dict[str, str] = dict(item["fields"])
            withheld = dict(decision.fields_withheld)
            if item["category"] in recipient.never_categories:
                if item["decision"] != "WITHHELD":
                    withheld |= dict.fromkeys(fields, rule)
                    item = {
                        **item,
                        "decision": "WITHHELD",
                        "rule_id": rule,
                        "reason": f"{name} never receives {item['category']}",
                        "fields": {},
                        "withheld_fields": sorted(withheld),
                        "summary": None,
                    }
                    decision = dataclasses.replace(
                        decision,
                        decision="WITHHELD",
                        rule_id=rule,
                        reason=item["reason"],
                        fields_released=(),
                        fields_withheld=withheld,
                    )
            elif never_fields & set(fields):
                for field_name in sorted(never_fields & set(fields)):
                    del fields[field_name]
                    withheld[field_name] = rule
                item = {**item, "fields": fields, "withheld_fields": sorted(withheld)}
                decision = dataclasses.replace(
                    decision, fields_released=tuple(sorted(fields)), fields_withheld=withheld
                )
            items.append(item)
            decisions_out.append(decision)
        subjects_out.append({**subject, "items": items})
    record = {
        **disclosure.record,
        "disclosure_id": name_id(DISCLOSURE_IDS, f"{disclosure.record['disclosure_id']}:{name}"),
        "subjects": subjects_out,
    }
    return Disclosure(record, decisions_out)

"""Human-readable text for a terminal: packages and decisions (the duty manager's view),
information products (a recipient team's view) and feedback (a referrer's view)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MARK = {
    "RELEASED": "",
    "SUMMARISED": "[summary] ",
    "EXISTENCE_ONLY": "[known to agency] ",
    "WITHHELD": "[withheld] ",
}


def package_text(package: dict[str, Any], corrections: Sequence[dict[str, Any]] = ()) -> str:
    """Several screens of plain text, narrowest sensible layout; items information governance
    has corrected since (``corrections``) are marked where they appear."""
    lines = []
    title = "ADDENDUM " + str(package["addendum"]) if package["addendum"] else "PACKAGE"
    lines.append(f"MASH INFORMATION {title}  referral {package['referral_id']}")
    lines.append(
        f"Level {package['level'].replace('LEVEL_', '')} - {package['route']}"
        + (f" - Locality Team {package['locality'].title()}" if package.get("locality") else "")
    )
    met = "met" if package["deadline_met"] else "MISSED"
    lines.append(
        f"Deadline {package['deadline']:%Y-%m-%d %H:%M} UTC ({met}); "
        f"assembled {package['created_at']:%Y-%m-%d %H:%M:%S} UTC"
    )
    lines.append(f"Concern: {package['concern']}")
    contacts = package.get("contacts") or []
    if len(contacts) > 1 or any(c["channel"] != "intake" for c in contacts):
        lines.append("")
        lines.append(f"Contacts ({len(contacts)}):")
        for c in contacts:
            ref = f" {c['source_reference']}" if c.get("source_reference") else ""
            lines.append(
                f"  {c['received_at']:%Y-%m-%d %H:%M} {c['source'].lower():9}{ref} "
                f"({c['level']}): {c['concern']}"
            )
    history = package.get("history") or []
    if history:
        lines.append("")
        lines.append(
            f"Earlier MASH referrals about these children in the last 12 months ({len(history)}):"
        )
        for h in history:
            outcome = (h["outcome"] or "no decision yet").lower().replace("_", "-")
            lines.append(
                f"  {h['opened_at']:%Y-%m-%d} {h['level'].replace('_', ' ').title():8} "
                f"{outcome:22} {h['contacts']} contact(s)  referral {h['referral_id'][:8]}"
            )
    names = _subjects(package["subjects"], lines)
    lines.append("")
    lines.append("Agencies:")
    for a in package["agencies"]:
        when = f"{a['responded_at']:%Y-%m-%d %H:%M}" if a.get("responded_at") else "-"
        lines.append(
            f"  {a['agency'].lower():10} {a['answer'].lower().replace('_', ' '):14} "
            f"{when}  chasers {a['chasers']}"
        )
    lines += _findings(package["findings"], names, corrections)
    if package["chronology"]:
        lines.append("")
        lines.append("Chronology:")
        for c in package["chronology"]:
            lines.append(f"  {c['on']}  {c['agency'].lower():9} {c['description']}")
    return "\n".join(lines)


def _subjects(subjects: list[dict[str, Any]], lines: list[str]) -> dict[str, str]:
    lines.append("")
    lines.append("Subjects:")
    names = {}
    for s in subjects:
        dob = s["date_of_birth"].isoformat() if s.get("date_of_birth") else "?"
        names[s["subject_id"]] = f"{s['given_names']} {s['family_name']}"
        lines.append(f"  {s['role'].lower():13} {s['given_names']} {s['family_name']} ({dob})")
    return names


def _findings(
    findings: list[dict[str, Any]],
    names: dict[str, str],
    corrections: Sequence[dict[str, Any]] = (),
) -> list[str]:
    corrected = {(c.get("data_category"), c.get("record_id")): c for c in corrections}
    lines = []
    for finding in findings:
        lines.append("")
        lines.append(f"{finding['agency']} (policy {finding['policy_version'][:19]}):")
        for subject in finding["subjects"]:
            who = names.get(subject["subject_id"], subject["subject_id"][:8])
            match = subject["match"]
            verify = "  POSSIBLE MATCH - VERIFY" if subject["verify_match"] else ""
            lines.append(
                f"  {who} [{match['confidence'].lower()} by {match['method'].lower()}]{verify}"
            )
            for item in subject["items"]:
                label = item["category"].split(".", 1)[1].replace("_", " ")
                text = MARK[item["decision"]] + label
                if item.get("summary"):
                    sm = item["summary"]
                    text += f": {sm['count']} record(s)"
                    if sm.get("first_on"):
                        text += f", {sm['first_on']} to {sm['last_on']}"
                if item["fields"]:
                    text += ": " + "; ".join(f"{k} {v}" for k, v in sorted(item["fields"].items()))
                if item["withheld_fields"]:
                    text += f" (withheld: {', '.join(item['withheld_fields'])})"
                lines.append(f"    - {text}")
                if fix := corrected.get((item["category"], item.get("record_id"))):
                    lines.append(
                        f"      !! CORRECTED ({fix['kind'].lower().replace('_', ' ')}) by "
                        "information governance: see the correction below"
                    )
    return lines


def decision_text(decision: dict[str, Any]) -> str:
    """One recorded decision: outcome, who, when, where it went."""
    text = (
        f"DECISION {decision['outcome'].lower().replace('_', '-')} by {decision['decided_by']} "
        f"at {decision['decided_at']:%Y-%m-%d %H:%M} UTC"
    )
    if decision.get("team"):
        text += f"; Locality Team {decision['team'].title()}"
    if decision.get("lead_professional"):
        text += f"; lead professional {decision['lead_professional']}"
    if decision.get("before_package"):
        text += "; decided BEFORE the package was complete (Level 3)"
    text += f"\n  reason: {decision['reason']}"
    text += "\n  disseminated to: " + (", ".join(decision["recipients"]) or "nobody (advice only)")
    return text


def product_text(product: dict[str, Any], corrections: Sequence[dict[str, Any]] = ()) -> str:
    """A recipient team's information product (items corrected since marked)."""
    lines = [
        f"INFORMATION PRODUCT for {product['recipient']}  referral {product['referral_id']}",
        f"Outcome {product['outcome'].lower().replace('_', '-')} (Level "
        f"{product['level'].replace('LEVEL_', '')}) decided by {product['decided_by']} "
        f"at {product['created_at']:%Y-%m-%d %H:%M} UTC",
    ]
    if product.get("lead_professional"):
        lines.append(f"Lead professional: {product['lead_professional']}")
    lines.append(f"Reason: {product['reason']}")
    lines.append(f"Concern: {product['concern']}")
    names = _subjects(product["subjects"], lines)
    lines += _findings(product["findings"], names, corrections)
    return "\n".join(lines)


def feedback_text(feedback: dict[str, Any]) -> str:
    """What a referrer was told."""
    text = (
        f"{feedback['decided_at']:%Y-%m-%d %H:%M} {feedback['referral_id']}  {feedback['message']}"
    )
    if feedback.get("advice"):
        text += f"\n  advice: {feedback['advice']}"
    return text


def corrections_of(corrections: Sequence[dict[str, Any]], referral_id: str) -> list[dict[str, Any]]:
    """The corrections about one referral."""
    return [c for c in corrections if c["referral_id"] == referral_id]


def correction_line(correction: dict[str, Any]) -> str:
    """One line: when decided, referral, kind, item, and BREACH for a wrong person."""
    item = correction.get("data_category") or "notification"
    return (
        f"{correction['decided_at']:%Y-%m-%d %H:%M}  {correction['referral_id']}  "
        f"{correction['kind'].lower().replace('_', '-'):12} {item} "
        f"{correction.get('record_id') or ''}".rstrip()
        + ("  BREACH" if correction["personal_data_breach"] else "")
    )


def correction_text(correction: dict[str, Any]) -> str:
    """Information governance's correction of an item disclosed to this reader."""
    item = " ".join(
        str(v) for v in (correction.get("agency"), correction.get("data_category")) if v
    )
    record = f" record {correction['record_id']}" if correction.get("record_id") else ""
    lines = [
        f"CORRECTION ({correction['kind'].lower().replace('_', ' ')})  "
        f"referral {correction['referral_id']}",
        f"  item: {item.lower() or 'notification'}{record}, disclosed "
        f"{correction['disclosed_at']:%Y-%m-%d %H:%M} UTC",
        f"  decided by information governance {correction['decided_at']:%Y-%m-%d %H:%M} UTC: "
        f"{correction['reason']}",
        f"  {correction['action']}",
    ]
    if correction["personal_data_breach"]:
        lines.append("  (recorded as a personal data breach)")
    return "\n".join(lines)

"""Human-readable text of a package for a terminal (the duty manager's view)."""

from __future__ import annotations

from typing import Any

MARK = {
    "RELEASED": "",
    "SUMMARISED": "[summary] ",
    "EXISTENCE_ONLY": "[known to agency] ",
    "WITHHELD": "[withheld] ",
}


def package_text(package: dict[str, Any]) -> str:
    """Several screens of plain text, narrowest sensible layout."""
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
    lines.append("")
    lines.append("Subjects:")
    names = {}
    for s in package["subjects"]:
        dob = s["date_of_birth"].isoformat() if s.get("date_of_birth") else "?"
        names[s["subject_id"]] = f"{s['given_names']} {s['family_name']}"
        lines.append(f"  {s['role'].lower():13} {s['given_names']} {s['family_name']} ({dob})")
    lines.append("")
    lines.append("Agencies:")
    for a in package["agencies"]:
        when = f"{a['responded_at']:%Y-%m-%d %H:%M}" if a.get("responded_at") else "-"
        lines.append(
            f"  {a['agency'].lower():10} {a['answer'].lower().replace('_', ' '):14} "
            f"{when}  chasers {a['chasers']}"
        )
    for finding in package["findings"]:
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
    if package["chronology"]:
        lines.append("")
        lines.append("Chronology:")
        for c in package["chronology"]:
            lines.append(f"  {c['on']}  {c['agency'].lower():9} {c['description']}")
    return "\n".join(lines)

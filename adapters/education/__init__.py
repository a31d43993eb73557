"""Education adapter: UPN, enrolment, attendance, exclusions, SEN/EHCP, CME."""

from __future__ import annotations

import random
from typing import Any

from adapters.synthetic import base
from hub.adapter import AgencyProfile

SCHOOLS = (
    "Grays Primary School",
    "Tilbury Pioneer Academy",
    "Aveley Primary",
    "Harris Academy Chafford Hundred",
    "Ockendon Academy",
)


def synthesise(person: dict[str, Any], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """School-age children have enrolment and attendance; some have more."""
    if not 4 <= person["age"] < 18:
        return {}
    low = person["household_flags"].get("neglect")
    percent = round(rng.uniform(70, 89) if low else rng.uniform(90, 100), 1)
    out: dict[str, list[dict[str, Any]]] = {
        "enrolments": [
            {
                **base(rng, years=3),
                "school": rng.choice(SCHOOLS),
                "urn": str(rng.randint(100000, 149999)),
                "year_group": f"Year {max(1, person['age'] - 4)}",
            }
        ],
        "attendance": [
            {
                **base(rng, years=1),
                "academic_year": "2025/26",
                "attendance_percent": percent,
                "persistent_absence": percent < 90,
            }
        ],
    }
    if rng.random() < 0.05:
        out["exclusions"] = [
            {
                **base(rng, "Suspended after a fight.", 2),
                "kind": "suspension",
                "days": rng.randint(1, 5),
            }
        ]
    if rng.random() < 0.12:
        out["special_needs"] = [
            {
                **base(rng, years=3),
                "provision": rng.choice(["SEN support", "EHCP"]),
                "primary_need": rng.choice(["SEMH", "SLCN", "ASD"]),
            }
        ]
    if low or rng.random() < 0.02:
        out["safeguarding_concerns"] = [{**base(rng, "Came to school hungry and unkempt.", 1)}]
    return out


PROFILE = AgencyProfile("EDUCATION", "upn", "mash.EducationRecords", synthesise)

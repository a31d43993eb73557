"""Health adapter: NHS number, GP registration, health visiting, A&E, CP-IS flags, MH."""

from __future__ import annotations

import random
from typing import Any

from adapters.synthetic import base
from hub.adapter import AgencyProfile

PRACTICES = (
    "Grays Health Centre",
    "Tilbury Medical Centre",
    "Aveley Medical Centre",
    "Chafford Hundred Surgery",
)


def synthesise(person: dict[str, Any], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Everyone is registered with a GP; other records depend on age and household."""
    out: dict[str, list[dict[str, Any]]] = {
        "gp_registrations": [
            {**base(rng, years=8), "practice": rng.choice(PRACTICES), "registered_since": None}
        ]
    }
    if person["age"] < 5:
        out["health_visitor_contacts"] = [
            {**base(rng, "Routine development review.", 2), "contact_type": "home visit"}
            for _ in range(rng.randint(1, 3))
        ]
    if rng.random() < 0.1:
        out["emergency_attendances"] = [
            {
                **base(rng, "Attended after a fall at home.", 2),
                "reason": "Fall",
                "injury": rng.random() < 0.5,
            }
        ]
    if person["household_flags"].get("neglect") and person["age"] < 18:
        out["missed_appointments"] = [{**base(rng, years=1), "service": "Paediatrics"}]
    if person["age"] >= 18 and rng.random() < 0.12:
        out["mental_health"] = [
            {
                **base(rng, "Referred by GP for low mood.", 3),
                "service": "Community mental health team",
                "diagnosis": "Depressive episode",
                "open": True,
            }
        ]
    if person["age"] >= 18 and person["household_flags"].get("substance"):
        out["substance_misuse"] = [
            {
                **base(rng, "Engaging with treatment service.", 3),
                "substance": "alcohol",
                "open": True,
            }
        ]
    if person["household_flags"].get("cp_plan") and person["age"] < 18:
        out["child_protection_flags"] = [{**base(rng, years=1), "flag": "CPP", "ends_on": None}]
    return out


PROFILE = AgencyProfile("HEALTH", "nhs_number", "mash.HealthRecords", synthesise)

"""Police adapter: PNC id, crime reports, domestic abuse, intelligence (3x5x2), markers."""

from __future__ import annotations

import random
from typing import Any

from adapters.synthetic import base, day
from hub.adapter import AgencyProfile

NARRATIVES = (
    "Officers attended following a call from a neighbour reporting shouting.",
    "Subject seen associating with older males linked to supply of drugs.",
    "Report of an argument in the street; no offences disclosed.",
)


def synthesise(person: dict[str, Any], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Records for one person: most people have none; DA households and some teens do."""
    out: dict[str, list[dict[str, Any]]] = {}
    adult = person["age"] >= 18
    if person["household_flags"].get("domestic_abuse") and adult:
        out["domestic_abuse_incidents"] = [
            {
                **base(rng, rng.choice(NARRATIVES)),
                "risk": rng.choice(["standard", "medium", "high"]),
                "children_present": True,
                "victim_new_address": None,
            }
            for _ in range(rng.randint(1, 3))
        ]
    if adult and rng.random() < 0.08:
        out["crime_reports"] = [
            {
                **base(rng, rng.choice(NARRATIVES)),
                "crime_type": rng.choice(["Assault ABH", "Criminal damage", "Theft"]),
                "subject_role": rng.choice(["suspect", "victim", "witness"]),
                "outcome": rng.choice(["charged", "no further action"]),
            }
        ]
    if adult and rng.random() < 0.04:
        out["intelligence"] = [
            {
                **base(rng, rng.choice(NARRATIVES)),
                "source_grading": "B",
                "intelligence_grading": "2",
                "handling_code": rng.choice(["P", "P", "C"]),
                "informant_details": "Source reference withheld",
            }
        ]
        out["warning_markers"] = [
            {**base(rng), "marker": rng.choice(["violence", "weapons", "drugs"])}
        ]
    if person.get("identifiers", {}).get("pnc_id"):
        out["convictions"] = [
            {
                **base(rng, "Pleaded guilty at magistrates' court.", 10),
                "offence": "Common assault",
                "sentence": "Community order",
            }
        ]
    if 12 <= person["age"] < 18 and rng.random() < 0.06:
        out["missing_episodes"] = [
            {
                **base(rng, "Missing overnight; found at a friend's.", 2),
                "found_on": day(rng, 1),
                "risk": "medium",
            }
        ]
    return out


PROFILE = AgencyProfile(
    "POLICE", "pnc_id", "mash.PoliceRecords", synthesise, products=("police-strategy",)
)

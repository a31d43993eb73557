"""Housing adapter: tenancy, homelessness, ASB, arrears, hazards, refuge/confidential address."""

from __future__ import annotations

import random
from typing import Any

from adapters.synthetic import base
from hub.adapter import AgencyProfile


def synthesise(person: dict[str, Any], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Council tenants (about a third of households) have tenancy records."""
    flags = person["household_flags"]
    if not flags.get("social_tenant"):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    if person["age"] >= 18:
        out["tenancies"] = [
            {
                **base(rng, years=10),
                "tenure": "secure council tenancy",
                "address": person["address"],
            }
        ]
        if rng.random() < 0.2:
            out["arrears"] = [
                {
                    **base(rng, years=1),
                    "amount_pence": rng.randint(10_000, 300_000),
                    "weeks": rng.randint(2, 20),
                }
            ]
        if rng.random() < 0.05:
            out["antisocial_behaviour"] = [
                {**base(rng, "Noise complaints from neighbours.", 2), "subject_role": "perpetrator"}
            ]
        if flags.get("domestic_abuse") and rng.random() < 0.3:
            out["confidential_addresses"] = [
                {
                    **base(rng, "Placed in refuge.", 2),
                    "kind": "refuge",
                    "address": person["address"],
                }
            ]
    if rng.random() < 0.08:
        out["property_hazards"] = [{**base(rng, years=2), "hazard": "Damp and mould", "band": "B"}]
    return out


PROFILE = AgencyProfile("HOUSING", None, "mash.HousingRecords", synthesise)

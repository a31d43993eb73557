"""Agency adapters: each package holds only what is specific to its agency."""

from __future__ import annotations

from hub.adapter import AgencyProfile


def profile(agency: str) -> AgencyProfile:
    """The profile of ``agency`` (police, health, education, housing)."""
    from adapters import education, health, housing, police

    profiles = {
        "police": police.PROFILE,
        "health": health.PROFILE,
        "education": education.PROFILE,
        "housing": housing.PROFILE,
    }
    try:
        return profiles[agency.lower()]
    except KeyError:
        raise KeyError(f"unknown agency {agency!r}; one of {sorted(profiles)}") from None

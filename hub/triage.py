"""Triage advice from the local authority's Levels of Need table (advice only, pure)."""

from __future__ import annotations

from typing import Any

# Indicator phrases per column of the seeds' RAG table, strongest first.
COLUMNS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "LEVEL_3",
        "ACUTE",
        (
            "significant harm",
            "serious physical harm",
            "sexual abuse",
            "child protection",
            "chronic non-attendance",
            "no parental support",
            "neglect",
            "abuse",
            "unexplained injur",
            "disclosure",
        ),
    ),
    (
        "LEVEL_2",
        "COMPLEX",
        (
            "short term exclusion",
            "permanent exclusion",
            "persistent truant",
            "significant concerns",
            "chronic",
            "recurring health",
            "missing from education",
            "at risk of offending",
            "domestic abuse",
            "substance",
        ),
    ),
    (
        "LEVEL_1",
        "LOW_RISK_TO_VULNERABLE",
        (
            "slow in reaching",
            "development milestone",
            "low income",
            "unemployment",
            "minor health",
            "parents under stress",
            "carers under stress",
            "housing",
        ),
    ),
]


def suggest(indicators: list[str], concern: str = "") -> dict[str, Any]:
    """The strongest column any indicator or the concern text matches, with the evidence. A
    phrase inside a longer matching phrase does not count on its own ("abuse" within
    "domestic abuse" is the Level 2 indicator, not the Level 3 one)."""
    text = [t.lower() for t in [*indicators, concern] if t]
    hits: set[str] = set()
    for t in text:
        found = [p for _, _, phrases in COLUMNS for p in phrases if p in t]
        hits |= {p for p in found if not any(p != other and p in other for other in found)}
    for level, column, phrases in COLUMNS:
        matched = sorted(p for p in phrases if p in hits)
        if matched:
            return {
                "suggested_level": level,
                "need": column,
                "matched": matched,
                "advice_only": True,
            }
    return {
        "suggested_level": "NFA",
        "need": "NO_ADDITIONAL_NEEDS",
        "matched": [],
        "advice_only": True,
    }

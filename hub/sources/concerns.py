"""Synthetic concerns raised in an agency's own system (the embedded default's input for
agency-originated referrals): a police Public Protection Notice, a school's safeguarding
concern, a health visitor's or a housing officer's concern about a generated child."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hub.sources.sqlite import SqliteSource


@dataclass(frozen=True)
class ConcernKind:
    """How one agency raises a concern, and a typical one."""

    prefix: str
    raised_by: str
    organisation: str
    role: str
    concern: str
    indicators: tuple[str, ...]


KINDS = {
    "police": ConcernKind(
        "PPN",
        "PC 4417",
        "Essex Police",
        "Attending officer",
        "Public Protection Notice: officers attended a domestic incident at the home; "
        "the child was present during the incident.",
        ("domestic abuse",),
    ),
    "education": ConcernKind(
        "SC",
        "Designated Safeguarding Lead",
        "Thurrock primary school",
        "DSL",
        "School safeguarding concern: the child has been persistently late and hungry, "
        "and disclosed arguments at home.",
        ("parents under stress",),
    ),
    "health": ConcernKind(
        "HV",
        "Health visitor",
        "Thurrock health visiting service",
        "Health visitor",
        "Health visitor concern: the child is slow in reaching development milestones "
        "and the parent appears under stress.",
        ("development milestone", "parents under stress"),
    ),
    "housing": ConcernKind(
        "HO",
        "Housing officer",
        "Thurrock Council Housing",
        "Tenancy officer",
        "Housing officer concern: the family faces eviction for rent arrears; the "
        "children share one room in a damp flat.",
        ("housing",),
    ),
}
ID_OF = {"police": "pnc_id", "health": "nhs_number", "education": "upn", "housing": None}


def household_with_child(folder: Path, agencies: tuple[str, ...], seed: int = 0) -> str:
    """A generated household with a child that every one of ``agencies`` holds."""
    health = SqliteSource(folder / "health.db")
    try:
        rows = health._query(
            "SELECT household, person_id FROM people WHERE dob > ? ORDER BY household",
            ("2009-01-01",),
        )
    finally:
        health.close()
    held: dict[str, set[str]] = {}
    for agency in agencies:
        source = SqliteSource(folder / f"{agency}.db")
        try:
            held[agency] = {p for (p,) in source._query("SELECT person_id FROM people", ())}
        finally:
            source.close()
    households = sorted({h for h, p in rows if all(p in held[a] for a in agencies)})
    if not households:
        raise LookupError(f"no generated child is held by all of {', '.join(agencies)}")
    return str(random.Random(seed).choice(households))


def raise_concern(
    folder: Path,
    agency: str,
    household: str,
    *,
    reference: str | None = None,
    concern: str | None = None,
    indicators: tuple[str, ...] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write a concern about the youngest child of ``household`` into the agency's database
    (as the agency holds the family) and return it."""
    kind = KINDS[agency]
    health = SqliteSource(folder / "health.db")
    try:
        members = health.people("household = ?", (household,))
    finally:
        health.close()
    if not members:
        raise LookupError(f"no household {household}")
    members.sort(key=lambda p: p["date_of_birth"] or date.min)
    child = members[-1]
    source = SqliteSource(folder / f"{agency}.db", create=True)
    try:
        subjects = []
        for m in members:
            held = source.people("person_id = ?", (m["person_id"],))
            view = held[0] if held else {**m, "identifiers": {}}
            subjects.append(
                {
                    "role": "CHILD"
                    if m is child
                    else "SIBLING"
                    if m["date_of_birth"] and m["date_of_birth"].year > 2008
                    else "PARENT_CARER",
                    "given_names": view["given_names"],
                    "family_name": view["family_name"],
                    "date_of_birth": view["date_of_birth"],
                    "address": view["address"],
                    "identifiers": {
                        k: (view["identifiers"].get(k) if k == ID_OF[agency] else None)
                        for k in ("nhs_number", "upn", "pnc_id")
                    },
                }
            )
        record = {
            "source_reference": reference or f"{kind.prefix}-{uuid.uuid4().hex[:10].upper()}",
            "raised_at": now or datetime.now(UTC),
            "raised_by": kind.raised_by,
            "organisation": kind.organisation,
            "role": kind.role,
            "concern": concern or kind.concern,
            "indicators": list(indicators if indicators is not None else kind.indicators),
            "consent": (
                {"status": "NOT_SOUGHT", "not_sought_reason": "WOULD_PREJUDICE_PROTECTION"}
                if agency == "police"
                else {"status": "GIVEN", "not_sought_reason": None}
            ),
            "subjects": subjects,
        }
        source.add_concern(record)
    finally:
        source.close()
    return record

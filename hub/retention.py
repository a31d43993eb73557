"""How long the hub may hold a referral's information: its retention classes (from the
disclosure log), the children's dates of birth and its last activity give the day retention
ends. Pure functions; an unknown class never ends (nothing is erased on a guess)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

UNTIL_BIRTHDAY = re.compile(r"^[a-z0-9]+-until-(\d+)(?:st|nd|rd|th)-birthday-of-youngest-child$")
FIXED_YEARS = re.compile(r"^[a-z0-9-]+?-(\d+)-years?$")
IG_OPERATIONS = ("correct", "erase")


class RetentionUnknown(ValueError):
    """A retention class this release cannot compute (so the referral is kept)."""


def add_years(day: date, years: int) -> date:
    """``day`` moved ``years`` on (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def class_ends(retention_class: str, last_activity: date, child_dobs: Sequence[date]) -> date:
    """When one retention class ends. ``...-until-Nth-birthday-of-youngest-child`` runs to the
    youngest child's Nth birthday (from the last activity when no date of birth is known);
    ``...-N-years`` runs N years from the last activity."""
    if found := UNTIL_BIRTHDAY.match(retention_class):
        years = int(found.group(1))
        born = max(child_dobs) if child_dobs else last_activity
        return max(add_years(born, years), last_activity)
    if found := FIXED_YEARS.match(retention_class):
        return add_years(last_activity, int(found.group(1)))
    raise RetentionUnknown(f"retention class {retention_class!r} is not one this release knows")


@dataclass(frozen=True)
class ReferralRetention:
    """One referral's retention: its classes, last logged activity, when retention ends (None:
    an unknown class, kept) and whether it was already erased."""

    referral_id: str
    classes: tuple[str, ...]
    last_activity: date
    ends: date | None
    erased: bool

    def due(self, today: date) -> bool:
        """True when retention has ended and the information is still held."""
        return not self.erased and self.ends is not None and self.ends <= today

    @property
    def state(self) -> str:
        """``erased``, ``kept`` (unknown class) or ``held``."""
        return "erased" if self.erased else ("kept" if self.ends is None else "held")


def retention_of(
    entries: Iterable[Mapping[str, Any]], child_dobs: Mapping[str, Sequence[date]]
) -> list[ReferralRetention]:
    """Per referral in the log (in order of first appearance): its retention, the longest of
    the classes its entries carry (a re-levelled referral keeps the longest)."""
    classes: dict[str, set[str]] = {}
    last: dict[str, date] = {}
    erased: set[str] = set()
    for entry in entries:
        referral = entry["correlation_id"]
        classes.setdefault(referral, set())
        if entry.get("retention_class"):
            classes[referral].add(entry["retention_class"])
        if entry.get("operation") == "erase":
            erased.add(referral)
        if entry.get("operation") in IG_OPERATIONS:
            continue  # IG's own record keeping is not case activity: it restarts no clock
        day = date.fromisoformat(entry["at"][:10])
        last[referral] = max(last.get(referral, day), day)
    out = []
    for referral, found in classes.items():
        if referral not in last:
            continue  # only an erasure logged (e.g. a log started afresh): nothing to judge
        ends: date | None
        try:
            dobs = child_dobs.get(referral, ())
            ends = max(class_ends(c, last[referral], dobs) for c in found) if found else None
        except RetentionUnknown:
            ends = None
        kept = tuple(sorted(found))
        out.append(ReferralRetention(referral, kept, last[referral], ends, referral in erased))
    return out
